"""The fill rules, case by case (paper broker and backtest both call these)."""

from decimal import Decimal

import numpy as np

from botdesk.engine import fill_rules
from botdesk.engine.fill_rules import STOP_LOSS, TAKE_PROFIT, first_protective_exit

D = Decimal


def test_market_orders_fill_at_the_open_moved_by_the_slippage():
    assert fill_rules.market_fill_price(D("68021.69"), "buy", D("0")) == D("68021.69")
    # 5 bps: a buy pays 68021.69 x 1.0005, a sell gets x 0.9995, rounded to 8 places
    assert fill_rules.market_fill_price(D("68021.69"), "buy", D("5")) == D("68055.700845")
    assert fill_rules.market_fill_price(D("68021.69"), "sell", D("5")) == D("67987.679155")
    # 0.33333333 x 0.9999 = 0.333299996667: rounded half-even to 8 places
    assert fill_rules.immediate_fill_price(D("0.33333333"), "sell", D("1")) == D("0.33330000")


def test_a_stop_fills_at_its_level_or_at_the_open_after_a_gap():
    assert fill_rules.stop_touched("sell", 100.0, high=[105.0], low=[99.0]).tolist() == [True]
    assert fill_rules.stop_touched("sell", 100.0, high=[105.0], low=[100.01]).tolist() == [False]
    assert fill_rules.stop_fill_price("sell", D("100"), D("103"), D("0")) == D("100")
    assert fill_rules.stop_fill_price("sell", D("100"), D("97"), D("0")) == D("97")  # gap down
    assert fill_rules.stop_fill_price("sell", D("100"), D("103"), D("10")) == D("99.9")
    assert fill_rules.stop_touched("buy", 100.0, high=[100.0], low=[95.0]).tolist() == [True]
    assert fill_rules.stop_fill_price("buy", D("100"), D("104"), D("0")) == D("104")


def test_a_limit_fills_at_its_level_or_better_at_the_open_without_slippage():
    assert fill_rules.limit_touched("sell", 110.0, high=[110.0], low=[100.0]).tolist() == [True]
    assert fill_rules.limit_fill_price("sell", D("110"), D("105")) == D("110")
    assert fill_rules.limit_fill_price("sell", D("110"), D("112")) == D("112")  # gap up
    assert fill_rules.limit_touched("buy", 90.0, high=[100.0], low=[90.01]).tolist() == [False]
    assert fill_rules.limit_fill_price("buy", D("90"), D("88")) == D("88")


def test_protective_exits_stop_first_when_one_candle_touches_both():
    high = np.array([101.0, 104.0, 111.0, 120.0])
    low = np.array([99.0, 98.0, 94.0, 100.0])
    both = first_protective_exit(high, low, stop=95.0, take_profit=110.0)
    assert (both.index, both.reason) == (2, STOP_LOSS)
    target = first_protective_exit(high, low, stop=90.0, take_profit=110.0)
    assert (target.index, target.reason) == (2, TAKE_PROFIT)
    assert first_protective_exit(high, low, stop=None, take_profit=float("nan")) is None
    assert first_protective_exit(high, low, stop=Decimal("98"), take_profit=None).index == 1


def test_fees_are_a_share_of_the_notional_rounded_to_8_places():
    assert fill_rules.fee_for(D("1234.56789"), D("0.001")) == D("1.23456789")
    assert fill_rules.fee_for(D("0.00000499"), D("0.001")) == D("0.00000000")


def test_a_good_till_time_order_expires_only_at_a_candle_opening_after_its_time():
    assert not fill_rules.expired(None, 10**13)  # good till cancelled
    assert not fill_rules.expired(119_999, 60_000)  # opened before: it may still fill
    assert not fill_rules.expired(120_000, 120_000)  # opened at the very time: too
    assert fill_rules.expired(119_999, 120_000)  # opened after: gone
