"""A bot trading through the local fake Binance with the real python-binance client: the
engine's runner in-process on a real database, candles released in step with the fake."""

import time
from decimal import Decimal

from sqlmodel import select

from botdesk.db import exchange_accounts
from botdesk.db.models import BotState, ExchangeAccount, Fill, Order, OrderStatus
from botdesk.engine.klines import load_klines as load_kline_file
from botdesk.engine.ledger import open_position
from botdesk.engine.reconcile import dispatch_all, reconcile_all
from botdesk.engine.runtime import EngineRuntime
from botdesk.settings import Settings
from tests.conftest import SHARED_DATA
from tests.engine.driving import Driver
from tests.factories import make_bot
from tests.fake_binance import FakeBinance, load_klines
from tests.keys import TEST_DATA_KEY

CANDLES = 400
UNSETTLED = (OrderStatus.NEW, OrderStatus.UNKNOWN)
WARMUP = 120


def settings_for(db, **overrides) -> Settings:
    values = {
        "DATABASE_URL": db.url,
        "DATA_KEY": TEST_DATA_KEY,
        "BINANCE_TIMEOUT_SECONDS": 0.5,
        **overrides,
    }
    return Settings(**values)


def fake_binance(**options) -> FakeBinance:
    """BTCUSDT's real klines; the candle that closed last is the warm-up's last."""
    klines = {"BTCUSDT": load_klines("BTCUSDT-1m.csv", CANDLES)}
    options.setdefault("hold_seconds", 1.0)
    return FakeBinance(klines=klines, start_index=WARMUP - 1, **options)


def binance_account(db, fake: FakeBinance, *, name="testnet", environment="testnet") -> int:
    with db.writing() as session:
        account = exchange_accounts.create(
            session=session,
            name=name,
            environment=environment,
            api_key=fake.api_key,
            api_secret=fake.api_secret,
            created_by="test",
            settings=settings_for(db),
        )
        account.base_url = fake.base_url
        session.add(account)
        session.flush()
        return account.id


def binance_bot(db, account_id: int, **fields):
    fields.setdefault("params", {"fast": 3, "slow": 8, "stop_atr": 0})
    fields.setdefault("capital", Decimal("1000"))
    return make_bot(
        db, broker="binance", exchange_account_id=account_id, state=BotState.RUNNING, **fields
    )


class BinanceDesk:
    """The engine's runner, the broker's dispatch and reconciliation, and the fake, in step."""

    def __init__(self, db, fake: FakeBinance, **settings):
        self.db, self.fake = db, fake
        self.runtime = EngineRuntime(db=db, settings=settings_for(db, **settings), engine_id="t")
        frame = load_kline_file(SHARED_DATA / "BTCUSDT-1m.csv").candles[:CANDLES]
        self.driver = Driver(self.runtime, {"BTCUSDT": frame}, warmup=WARMUP)
        self.broker = self.runtime.brokers.get("binance")

    def minute(self, passes: int = 20) -> None:
        """One more candle closes on Binance and in botdesk; then the dispatch job's passes
        of the minute that follows (a minute holds 240), until nothing waits to be sent or
        looked up. A Retry-After is waited out, as a minute would."""
        self.fake.advance(1)
        self.driver.step(1)
        for _ in range(passes):
            self.wait_out_retry_after()
            dispatch_all(self.runtime)
            if not any(o.status in (OrderStatus.NEW, OrderStatus.UNKNOWN) for o in self.orders()):
                break

    def wait_out_retry_after(self) -> None:
        for gate in self.broker.connections.gates.values():
            time.sleep(max(0.0, max(gate.retry_at, gate.banned_until) - time.time()))

    def reconcile(self) -> int:
        return reconcile_all(self.runtime)

    def settle(self) -> int:
        """Faults off; once every Retry-After has passed, send what waits and reconcile."""
        self.fake.faults.clear()
        self.wait_out_retry_after()
        dispatch_all(self.runtime)
        return self.reconcile()

    def orders(self) -> list[Order]:
        return all_orders(self.db)

    def account(self, account_id: int) -> ExchangeAccount:
        with self.db.reading() as session:
            return session.get(ExchangeAccount, account_id)


def all_orders(db) -> list[Order]:
    with db.reading() as session:
        return list(session.exec(select(Order).order_by(Order.id)).all())


def fills_by_order(db) -> dict[int, list[Fill]]:
    with db.reading() as session:
        fills = session.exec(select(Fill)).all()
    grouped: dict[int, list[Fill]] = {}
    for fill in fills:
        grouped.setdefault(fill.order_id, []).append(fill)
    return grouped


def assert_books_match_binance(db, fake: FakeBinance) -> None:
    """Every order sent exists once on Binance, in the same state, with the same trades."""
    fills = fills_by_order(db)
    orders = all_orders(db)
    sent = [o for o in orders if o.purpose != "dust" and o.exchange_order_id]
    assert sent
    for order in orders:
        assert order.status not in UNSETTLED, (order.client_order_id, order.status_reason)
        placed = fake.orders_with_client_id(order.client_order_id)
        assert len(placed) <= 1, f"{order.client_order_id} placed {len(placed)} times"
        if order.purpose == "dust":
            continue
        if not placed:
            assert order.exchange_order_id is None
            continue
        (on_binance,) = placed
        assert order.exchange_order_id == str(on_binance.order_id)
        traded = {str(t.id): t for t in on_binance.trades}
        booked = {f.trade_id: f for f in fills.get(order.id, [])}
        assert set(booked) == set(traded)
        for trade_id, fill in booked.items():
            assert fill.price == traded[trade_id].price
        expected = {"FILLED": "filled", "CANCELED": "cancelled", "NEW": "open"}
        assert order.status == expected[on_binance.status]
    client_ids = {o.client_order_id for o in orders}
    for placed in fake.exchange.orders:
        assert placed.client_order_id in client_ids


def assert_holdings_match(db, fake: FakeBinance, bot) -> None:
    """The account's BTC is exactly the bot's open position plus the dust written off."""
    with db.reading() as session:
        position = open_position(session=session, bot_id=bot.id, symbol="BTCUSDT")
    dust = sum((o.quantity for o in all_orders(db) if o.purpose == "dust"), Decimal(0))
    free, locked = fake.balances().get("BTC", (Decimal(0), Decimal(0)))
    held = position.quantity if position is not None else Decimal(0)
    assert free + locked == held + dust
