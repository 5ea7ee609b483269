"""The batched candle path (`botdesk.engine.batch`): on real candles it writes exactly what
the per-bot path writes (signals, orders, fills, positions, snapshots, risk events), a
bot whose books are damaged goes to error on its own while the others go on, and what a
batch did is gathered in one place."""

import json
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db import risk_limits
from botdesk.db.models import (
    Bot,
    BotState,
    EquitySnapshot,
    Fill,
    Notification,
    Order,
    OrderStatus,
    OrderType,
    Position,
    RiskEvent,
    Side,
    Signal,
)
from botdesk.db.session import Database
from botdesk.engine import accounts
from tests.conftest import _fresh_url
from tests.engine.driving import Driver, runtime_for, sample
from tests.factories import make_bot

RUNNING = BotState.RUNNING
ANNOUNCED = ("bot", "candle_open_ms", "side", "status", "reason", "stop", "price")
SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture
def twin(request, database_url, tmp_path):
    """A second fresh database on the same backend as `db`."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    (tmp_path / "twin").mkdir()
    database = Database(_fresh_url(request, backend, tmp_path / "twin"))
    yield database
    database.dispose()


def _bots(db) -> None:
    """Bots that trade often, over two symbols and two timeframes, under the default limits
    with a trailing stop and breakeven, one of them paused."""
    with db.writing() as session:
        risk_limits.seed_defaults(session=session)
        for kind, value in (("trailing_stop_percent", "0.3"), ("breakeven_after_percent", "0.2")):
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")
        # tight enough that some bots breach it on these candles
        risk_limits.set_limit(
            session=session, kind="max_drawdown", value="0.4", bot_id=None, by="t"
        )
        risk_limits.set_limit(
            session=session, kind="cooldown_seconds", value="0", bot_id=None, by="t"
        )
        # the order rate counts wall-clock minutes: in a catch-up the two paths spend them
        # differently (bot after bot, or candle after candle), so it is left out here
        risk_limits.disable_limit(
            session=session, kind="max_orders_per_minute", bot_id=None, by="t"
        )
    for number in range(12):
        params = {"fast": 2, "slow": 3 + number % 5, "stop_atr": 1 + number % 3}
        make_bot(
            db,
            name=f"b{number}",
            symbol=SYMBOLS[number % 2],
            timeframe="5m" if number % 4 == 3 else "1m",
            params=params,
            state=BotState.PAUSED if number == 5 else RUNNING,
            capital=Decimal(2000 + 500 * number),
        )
    make_bot(
        db,
        name="rsi",
        strategy="rsi_reversion",
        symbol="BTCUSDT",
        params={"period": 5, "oversold": 40, "overbought": 60, "stop_atr": 1},
        state=RUNNING,
    )


def _written(db) -> dict[str, list]:
    """Everything the candle path wrote, without ids and wall-clock times."""
    with db.reading() as session:
        names = {bot.id: bot.name for bot in session.exec(select(Bot))}
        orders = {order.id: order for order in session.exec(select(Order))}
        signals = session.exec(select(Signal).order_by(col(Signal.id))).all()
        return {
            "signals": sorted(
                (names[s.bot_id], s.candle_open_ms, s.side, s.status, s.stop, s.take_profit)
                for s in signals
            ),
            "orders": sorted(
                (
                    names[o.bot_id],
                    o.candle_open_ms,
                    o.side,
                    o.type,
                    o.purpose,
                    o.quantity,
                    o.status,
                    o.average_price,
                    o.stop_price,
                    o.price,
                )
                for o in orders.values()
            ),
            "fills": sorted(
                (
                    names[f.bot_id],
                    orders[f.order_id].candle_open_ms,
                    f.side,
                    f.quantity,
                    f.price,
                    f.fee_quote,
                    f.realized_pnl,
                    f.filled_at,
                )
                for f in session.exec(select(Fill))
            ),
            "positions": sorted(
                (
                    names[p.bot_id],
                    p.opened_at,
                    p.status,
                    p.quantity,
                    p.cost_basis,
                    p.realized_pnl,
                    p.last_price,
                    p.stop_price,
                    p.take_profit,
                    p.highest_price,
                )
                for p in session.exec(select(Position))
            ),
            "snapshots": sorted(
                (names[s.bot_id], s.candle_open_ms, s.equity, s.cash, s.exposure, s.fees)
                for s in session.exec(select(EquitySnapshot))
            ),
            "risk_events": sorted(
                (names.get(e.bot_id), e.kind, e.rule, e.message)
                for e in session.exec(select(RiskEvent))
            ),
            "bots": sorted(
                (b.name, b.last_candle_ms, b.desired_state, b.status, b.status_reason)
                for b in session.exec(select(Bot))
            ),
            # what subscribers' webhooks get of the signals (created, executed, rejected)
            "announced": sorted(
                (n.kind, *(json.loads(n.payload)[key] for key in ANNOUNCED))
                for n in session.exec(select(Notification))
                if n.kind.startswith("signal.")
            ),
        }


def test_the_batched_path_writes_what_the_per_bot_path_writes(db, twin):
    data = {symbol: sample(symbol)[:1000] for symbol in SYMBOLS}
    _bots(db)
    _bots(twin)
    # a short in-memory window, so that a catch-up soon reaches beyond it
    alone = Driver(runtime_for(db), data, window=240)
    alone.runner.batched = False
    batched = Driver(runtime_for(twin), data, window=240)
    assert batched.runner.batched
    gathered = []
    for minutes in [1] * 60 + [250]:  # then a catch-up beyond the in-memory window
        alone.step(minutes)
        batched.step(minutes)
        gathered += batched.runner.last_pass.batches
    per_bot, together = _written(db), _written(twin)
    assert len(together["fills"]) >= 20  # the bots did trade
    assert any(row[0] == "signal.created" for row in together["announced"])
    assert any(kind == "breach" for _, kind, _, _ in together["risk_events"])
    for table in per_bot:
        assert together[table] == per_bot[table], table
    assert len(together["snapshots"]) == sum(len(batch.processed) for batch in gathered)
    # whatever a notification needs is in the batches' outcomes
    assert len([fill for batch in gathered for fill in batch.fills]) == len(together["fills"])
    assert len([row for batch in gathered for row in batch.risk_events]) == len(
        together["risk_events"]
    )
    with twin.reading() as session:
        for bot in session.exec(select(Bot)):
            assert accounts.discrepancies(session=session, bot=bot) == []
    assert _drawdown_snapshots(db) == _drawdown_snapshots(twin) != []


def _drawdown_snapshots(db) -> list[tuple]:
    """Each drawdown breach with the snapshot it names: (bot, the equity its message
    gives, the named snapshot's bot and equity); the named one is the bot's last of its
    candle (the batched path writes the quiet bots' snapshots together: the breaching
    bot's one must be there when the breach looks it up)."""
    with db.reading() as session:
        names = {bot.id: bot.name for bot in session.exec(select(Bot))}
        found = []
        for event in session.exec(
            select(RiskEvent).where(RiskEvent.kind == "breach", RiskEvent.rule == "max_drawdown")
        ):
            named = session.get(EquitySnapshot, json.loads(event.details)["snapshot_id"])
            assert named is not None, event.message
            newer = session.exec(
                select(EquitySnapshot.id).where(
                    EquitySnapshot.bot_id == named.bot_id,
                    EquitySnapshot.candle_open_ms == named.candle_open_ms,
                    col(EquitySnapshot.id) > named.id,
                )
            ).all()
            equity = event.message.split("'s equity ")[1].split(" ")[0]
            found.append((names[event.bot_id], equity, names[named.bot_id], f"{named.equity:.2f}"))
            assert newer == []
        return sorted(found)


def test_a_bot_with_damaged_books_goes_to_error_alone(db):
    bots = [make_bot(db, name=f"d{n}", state=RUNNING) for n in range(3)]
    data = {"BTCUSDT": sample("BTCUSDT")[:700]}
    driver = Driver(runtime_for(db), data)
    driver.run(2)
    damaged = bots[1]
    with db.writing() as session:  # an open position that holds nothing, and a sell resting
        position = Position(bot_id=damaged.id, symbol="BTCUSDT")
        session.add(position)
        session.add(
            Order(
                bot_id=damaged.id,
                client_order_id="damaged-1",
                broker="paper",
                symbol="BTCUSDT",
                side=Side.SELL,
                type=OrderType.MARKET,
                quantity=Decimal("0.1"),
                status=OrderStatus.OPEN,
                purpose="exit",
            )
        )
    driver.step()
    outcome = driver.runner.last_pass
    next_candle = int(data["BTCUSDT"].open_time_ms[driver.position - 1])
    with db.reading() as session:
        rows = {bot.id: session.get(Bot, bot.id) for bot in bots}
        snapshots = {
            bot.id: session.exec(
                select(EquitySnapshot.candle_open_ms).where(EquitySnapshot.bot_id == bot.id)
            ).all()
            for bot in bots
        }
    assert rows[damaged.id].status == BotState.ERROR
    assert "ledger error: a fill of 0" in rows[damaged.id].status_reason
    assert next_candle not in snapshots[damaged.id]
    for bot in (bots[0], bots[2]):
        assert rows[bot.id].status == RUNNING
        assert rows[bot.id].last_candle_ms == next_candle
        assert next_candle in snapshots[bot.id]
    assert outcome.processed == 2
    errors = [error for batch in outcome.batches for error in batch.bot_errors]
    assert errors == [(damaged.id, rows[damaged.id].status_reason)]
    assert any(batch.fell_back for batch in outcome.batches)
    # the next candle goes back to one batch for the two that are left
    driver.step()
    assert [batch.processed for batch in driver.runner.last_pass.batches] == [
        [bots[0].id, bots[2].id]
    ]
