"""A paper bot under risk limits and a backtest sized "risk" with the same limits trade the
same quantities at the same prices: the live engine (its runner, `size_entry`, the paper
broker, the ledger) on a real database against the compiled backtest core."""

from decimal import Decimal

import numpy as np
from sqlmodel import col, func, select

from botdesk.db import risk_limits
from botdesk.db.models import BotState, EquitySnapshot, Fill, Order
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.backtest.sizing import RISK, desk_sizing
from botdesk.engine.strategies import registry
from tests.engine.driving import Driver, runtime_for, sample
from tests.engine.limit_strategy import LimitEmaCross
from tests.factories import make_bot


def test_a_paper_bot_and_a_risk_sized_backtest_buy_the_same_quantities(db):
    with db.writing() as session:
        for kind, value in (("risk_per_trade", "0.05"), ("max_position_notional", "4000")):
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")
    params = {"fast": 5, "slow": 13, "stop_atr": 1.5}
    capital = Decimal(7500)
    make_bot(
        db, strategy="ema_cross", symbol="ETHUSDT", state=BotState.RUNNING, params=params,
        capital=capital,
    )  # fmt: skip
    data = {"ETHUSDT": sample("ETHUSDT")[:1800]}
    Driver(runtime_for(db, slippage_bps="2"), data).run(1200)
    with db.reading() as session:
        fills = session.exec(select(Fill).order_by(col(Fill.id))).all()
        first_live = session.exec(select(func.min(EquitySnapshot.candle_open_ms))).one()
        sizing = desk_sizing(session=session, mode=RISK)
    candles = data["ETHUSDT"]
    signals = registry.create("ema_cross", params).signals(candles)
    signals.side[: int(np.searchsorted(candles.open_time_ms, first_live))] = 0
    result = simulate(
        candles,
        signals,
        fee_rate=Decimal("0.001"),
        slippage_bps=Decimal(2),
        capital=capital,
        sizing=sizing,
    )
    closed = [t for t in result.trades if t.exit_reason != "end_of_data"]
    buys = [f for f in fills if f.side == "buy"][: len(closed)]
    sells = [f for f in fills if f.side == "sell"]
    assert len(closed) >= 15
    assert [(b.price, b.quantity) for b in buys] == [(t.entry_price, t.quantity) for t in closed]
    assert [(s.price, s.quantity) for s in sells] == [(t.exit_price, t.quantity) for t in closed]
    assert sum(f.realized_pnl for f in fills[: 2 * len(closed)]) == sum(t.pnl for t in closed)
    # the limits did size them, each in turn: 3.75 USDT at risk over the stop distance (a
    # position well under 4000 USDT), or 4000 USDT at the signal's close (the fill, at the
    # next open with slippage, within a percent of it); never all the cash
    notionals = [t.quantity * t.entry_price for t in closed]
    assert max(notionals) <= 4040
    assert sum(value > 3960 for value in notionals) >= 3
    assert sum(value < 3500 for value in notionals) >= 3


def test_a_paper_bot_and_the_backtest_fill_the_same_limit_orders(db):
    """Limit entries 0.05 % below the signal's close and limit exits 0.05 % above it, good
    for 2 candles: the live engine (its runner, the paper broker's resting orders and
    their expiry, the ledger) and the backtest give the same fills on real klines."""
    registry.register(LimitEmaCross)
    try:
        with db.writing() as session:
            risk_limits.set_limit(
                session=session, kind="max_position_notional", value="4000", bot_id=None, by="t"
            )
        params = {"fast": 5, "slow": 13, "stop_atr": 1.5, "entry_offset": 0.05,
                  "exit_offset": 0.05, "good_for": 2}  # fmt: skip
        capital = Decimal(7500)
        make_bot(
            db, strategy="limit_ema_cross", symbol="ETHUSDT", state=BotState.RUNNING,
            params=params, capital=capital,
        )  # fmt: skip
        data = {"ETHUSDT": sample("ETHUSDT")[:1800]}
        Driver(runtime_for(db, slippage_bps="2"), data).run(1200)
        with db.reading() as session:
            fills = session.exec(select(Fill).order_by(col(Fill.id))).all()
            orders = session.exec(select(Order).order_by(col(Order.id))).all()
            first_live = session.exec(select(func.min(EquitySnapshot.candle_open_ms))).one()
            sizing = desk_sizing(session=session, mode=RISK)
        candles = data["ETHUSDT"]
        signals = registry.create("limit_ema_cross", params).signals(candles)
        signals.side[: int(np.searchsorted(candles.open_time_ms, first_live))] = 0
        result = simulate(
            candles, signals, fee_rate=Decimal("0.001"), slippage_bps=Decimal(2),
            capital=capital, sizing=sizing,
        )  # fmt: skip
    finally:
        registry.STRATEGIES.pop("limit_ema_cross", None)
    closed = [t for t in result.trades if t.exit_reason != "end_of_data"]
    buys = [f for f in fills if f.side == "buy"][: len(closed)]
    sells = [f for f in fills if f.side == "sell"]
    assert len(closed) >= 8
    assert [(b.price, b.quantity) for b in buys] == [(t.entry_price, t.quantity) for t in closed]
    assert [(s.price, s.quantity) for s in sells] == [(t.exit_price, t.quantity) for t in closed]
    assert sum(f.realized_pnl for f in fills[: 2 * len(closed)]) == sum(t.pnl for t in closed)
    # each entry filled within the candle the backtest says (at its close, paper's time)
    opened = {fill.order_id: fill.filled_at for fill in fills}
    entries = [o for o in orders if o.side == "buy" and o.id in opened][: len(closed)]
    filled_ms = [int(opened[o.id].timestamp() * 1000) for o in entries]
    entry_open_ms = [int(candles.open_time_ms[t.entry_index]) for t in closed]
    assert all(0 < f - o <= 60_000 for f, o in zip(filled_ms, entry_open_ms, strict=True))
    # the orders were limits, some expired unfilled, some filled at their limit price
    assert {o.type for o in orders if o.purpose in ("entry", "exit")} == {"limit"}
    assert sum(o.status == "expired" for o in orders) >= 3
    assert sum(b.price == o.price for b, o in zip(buys, entries, strict=True)) >= 3
    limit_of = {o.id: o.price for o in orders if o.purpose == "exit"}
    assert sum(s.price == limit_of.get(s.order_id) for s in sells) >= 3
    assert {t.exit_reason for t in closed} >= {"exit", "stop_loss"}
