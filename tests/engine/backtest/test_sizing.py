"""A backtest sized "risk" sizes each entry exactly as a live bot (`size_entry`) with the
same limits, capital and cash; "all-cash" spends the cash; the limits come from the desk."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botdesk.db import risk_limits
from botdesk.db.models import Bot
from botdesk.engine.backtest import core
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.backtest.sizing import ALL_CASH, RISK, Sizing, desk_sizing
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.sizing import size_entry
from tests.engine.backtest.frames import assert_same, both
from tests.factories import make_bot

D = Decimal
FEE = D("0.001")


def sized(sizing: Sizing, *, price, stop=None, cash="10000", capital="10000", slippage="0"):
    return sizing.quantity(
        price=D(price),
        stop=None if stop is None else D(stop),
        cash=D(cash),
        capital=D(capital),
        fee_rate=FEE,
        slippage_bps=D(slippage),
    )


@pytest.mark.parametrize(
    ("sizing", "entry", "expected"),
    [
        # all cash: 1000 x 0.995 (the buffer) / (100 x 1.001) = 9.9400599400...
        (Sizing(ALL_CASH), {"price": "100", "cash": "1000"}, "9.94005994"),
        # 1 % of 10000 = 100 at risk over a 5 USDT stop distance = 20
        (Sizing(RISK, D(1), None), {"price": "100", "stop": "95"}, "20"),
        # no stop: the assumed 5 % distance, 5 USDT at 100: 20 again
        (Sizing(RISK, D(1), None), {"price": "100"}, "20"),
        # 100 over 2 USDT = 50, but 1500 USDT of position at 100 is 15
        (Sizing(RISK, D(1), D(1500)), {"price": "100", "stop": "98"}, "15"),
        # the cash binds: 500 x 0.995 / 100.1 = 4.97002997...
        (Sizing(RISK, D(1), D(1500)), {"price": "100", "stop": "98", "cash": "500"}, "4.97002997"),
        # risk counts on the capital: 2 % of 50000 = 1000 over 10 = 100, but the cash
        # caps it: 10000 x 0.995 / 100.1 = 99.40059940
        (
            Sizing(RISK, D(2), None),
            {"price": "100", "stop": "90", "capital": "50000"},
            "99.40059940",
        ),
        # 0.5 % of 10000 = 50 at risk over a 10 USDT stop distance = 5
        (Sizing(RISK, D("0.5"), None), {"price": "250", "stop": "240"}, "5"),
        # no limit set: a live bot spends the cash, and so does this sizing
        (Sizing(RISK, None, None), {"price": "100", "cash": "1000"}, "9.94005994"),
    ],
)
def test_hand_computed_entries(sizing, entry, expected):
    assert sized(sizing, **entry) == D(expected)


def test_a_backtest_trade_is_sized_as_computed_by_hand():
    count = 4
    times = 1_700_000_000_000 + 60_000 * np.arange(count, dtype=np.int64)
    close = np.array([100.0, 100.0, 110.0, 110.0])
    candles = CandleFrame.from_arrays(times, close, close + 1, close - 10, close, np.ones(count))
    side = np.array([1, 0, -1, 0], dtype=np.int8)
    stop = np.array([98.0, np.nan, np.nan, np.nan])
    nan = np.full(count, np.nan)
    signals = SignalFrame(side, np.abs(side) * 1.0, stop, nan, np.full(count, "", object))
    costs = {"fee_rate": FEE, "slippage_bps": D(0), "capital": D(10000)}
    [trade] = simulate(candles, signals, sizing=Sizing(RISK, D(1), D(1500)), **costs).trades
    assert trade.quantity == D(15)  # 100 at risk over 2 = 50, capped at 1500 USDT: 15
    # stopped at 98 inside candle 1 (low 90): 15 x (98 - 100) less 0.1 % of 1500 and of 1470
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", D(98))
    assert trade.pnl == D(15) * (98 - 100) - D("1.5") - D("1.47")
    [all_in] = simulate(candles, signals, sizing=Sizing(ALL_CASH), **costs).trades
    assert all_in.quantity == D("99.40059940")  # 9950 / 100.1


def _set(db, **limits) -> None:
    with db.writing() as session:
        for kind, value in limits.items():
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")


prices = st.decimals("0.0001", "100000", places=8)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    price=prices,
    stop_share=st.one_of(st.none(), st.decimals("0.001", "1.2", places=4)),
    cash=st.decimals("0", "100000", places=8),
    risk=st.one_of(st.none(), st.decimals("0.01", "100", places=2)),
    room=st.one_of(st.none(), st.decimals("1", "100000", places=2)),
    slippage=st.sampled_from([D(0), D("2.5")]),
)
def test_risk_sizing_is_what_size_entry_gives_a_live_bot(
    db, price, stop_share, cash, risk, room, slippage
):
    """The same limits on the desk, the same capital, cash, price and stop: the backtest's
    sizing, the compiled core's (when its floats can tell) and the live bot's agree."""
    bot = make_bot(db, capital=D("25000"))
    with db.writing() as session:
        for kind, value in (("risk_per_trade", risk), ("max_position_notional", room)):
            if value is None:
                if risk_limits.row(session=session, kind=kind, bot_id=None):
                    risk_limits.disable_limit(session=session, kind=kind, bot_id=None, by="t")
            else:
                risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")
    stop = None if stop_share is None else (price * stop_share).quantize(D("1e-8"))
    with db.reading() as session:
        live = size_entry(
            session=session,
            bot=session.get(Bot, bot.id),
            price=price,
            stop=stop,
            cash=cash,
            position_quantity=D(0),
            fee_rate=FEE,
            slippage_bps=slippage,
        )
        sizing = desk_sizing(session=session)
    assert (sizing.risk_per_trade, sizing.max_position_notional) == (risk, room)
    backtest = sizing.quantity(
        price=price, stop=stop, cash=cash, capital=D(25000), fee_rate=FEE, slippage_bps=slippage
    )
    assert backtest == live
    units = core.entry_size(
        int(cash * 10**8),
        int(price * 10**8),
        0 if stop is None else int(stop * 10**8),
        stop is not None,
        25000 * 10**8,
        core.NO_LIMIT if risk is None else int(risk * 10**8),
        core.NO_LIMIT if room is None else int(room * 10**8),
        (1 + float(FEE)) * (1 + float(slippage) / 10_000),
        int(FEE * 10**8),
        int(slippage * 10**8),
    )
    assert units == -1 or D(units) / 10**8 == live


def test_the_desk_sizing_is_read_now_and_kept(db):
    with db.reading() as session:
        assert desk_sizing(session=session) == Sizing(RISK, None, None)
        assert desk_sizing(session=session, mode=ALL_CASH) == Sizing(ALL_CASH)
    _set(db, risk_per_trade="1.5", max_position_notional="4000")
    bot = make_bot(db)
    with db.writing() as session:  # a bot's own limit is that bot's, not the desk's
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="9", bot_id=bot.id, by="t"
        )
    with db.reading() as session:
        assert desk_sizing(session=session) == Sizing(RISK, D("1.5"), D(4000))
    with db.writing() as session:
        risk_limits.disable_limit(
            session=session, kind="max_position_notional", bot_id=None, by="t"
        )
    with db.reading() as session:
        assert desk_sizing(session=session) == Sizing(RISK, D("1.5"), None)


def test_sizings_that_make_no_sense_are_refused():
    with pytest.raises(ValueError, match="sizing 'kelly' is not one of risk, all-cash"):
        Sizing("kelly")
    with pytest.raises(ValueError, match="all-cash sizing takes no risk limits"):
        Sizing(ALL_CASH, D(1), None)


def test_both_sizings_trade_the_same_in_the_core_and_the_reference():
    rng = np.random.default_rng(3)
    from tests.engine.backtest.frames import random_candles, random_signals

    candles = random_candles(rng, 400, 2619.73)
    signals = random_signals(rng, candles)
    for sizing in (Sizing(ALL_CASH), Sizing(RISK, D(1), D(5000)), Sizing(RISK, D(3), None)):
        assert_same(
            *both(
                candles, signals, fee_rate=FEE, slippage_bps=D(1), capital=D(10000), sizing=sizing
            )
        )
