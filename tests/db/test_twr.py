"""The time-weighted return against a hand-computed example, and the desk's series summed
from its bots: capital in or out moves the equity, never the return or the drawdown."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from botdesk.db.twr import RATIOS, BotSeries, Step, combined, max_drawdown, time_weighted

D = Decimal
T = [datetime(2024, 10, 30, tzinfo=UTC) + timedelta(minutes=minute) for minute in range(6)]


def test_time_weighted_return_by_hand():
    points = time_weighted(
        [
            Step(T[0], D("1000")),
            Step(T[1], D("1100")),  # +100 on 1000: +10 %
            Step(T[2], D("1650"), D("500")),  # 500 in, then +50 on 1600: +3.125 %
            Step(T[3], D("1361.25")),  # -288.75 on 1650: -17.5 %
            Step(T[4], D("397.375"), D("-1000")),  # 1000 out, then +36.125 on 361.25: +10 %
        ]
    )
    assert [p.pnl for p in points] == [0, D("100"), D("50"), D("-288.75"), D("36.125")]
    # 1.1 x 1.03125 = 1.134375; x 0.825 = 0.935859375; x 1.1 = 1.0294453125
    assert [p.index for p in points] == [
        1,
        D("1.1"),
        D("1.134375"),
        D("0.935859375"),
        D("1.0294453125"),
    ]
    assert points[-1].cumulative_return == D("0.0294453125")
    # the drawdown is the index's: -17.5 % at T3, then 1.0294453125 / 1.134375 - 1
    assert [p.drawdown for p in points] == [0, 0, 0, D("-0.175"), D("-0.0925")]
    assert max_drawdown(points) == D("-0.175")
    # the equity's own fall (1650 to 397.375, -76 %) is mostly capital taken out


def test_nothing_at_work_is_no_return():
    points = time_weighted([Step(T[0], D("0")), Step(T[1], D("500"), D("500"))])
    assert [p.index for p in points] == [1, 1] and points[-1].pnl == 0


def test_bots_summed_on_time_with_their_flows():
    old = BotSeries(points=[(T[0], D("10000")), (T[2], D("9830"))], flows={})
    # created between T0 and T1 with 3500: its equity first holds it at T1
    new = BotSeries(
        points=[(T[1], D("3500")), (T[3], D("3465"))],
        flows={T[1]: D("3500")},
        created_at=T[1],
    )
    # a bot deleted after T1: it counts at T0 and T1, and leaves at T2 as a flow
    gone = BotSeries(points=[(T[0], D("2000")), (T[1], D("2100"))], flows={}, gone_at=T[2])
    steps = combined([old, new, gone])
    assert steps == [
        Step(T[0], D("12000"), D("12000")),  # the first counted: capital
        Step(T[1], D("15600"), D("3500")),  # +100 P&L of `gone`, 3500 in
        Step(T[2], D("13330"), D("-2100")),  # `gone` out, -170 of `old`
        Step(T[3], D("13295"), D("0")),  # -35 of `new`
    ]
    points = time_weighted(steps, opening=D(0))
    assert [p.pnl for p in points] == [0, D("100"), D("-170"), D("-35")]
    expected = D(1) * (1 + D(100) / 15500) * (1 + D(-170) / 13500) * (1 + D(-35) / 13330)
    assert abs(points[-1].index - expected) < D("1e-25")  # 28 digits here, 40 there


def test_a_bot_first_seen_without_its_creation_flow_comes_in_as_capital():
    steps = combined(
        [
            BotSeries(points=[(T[0], D("100")), (T[1], D("110"))], flows={}),
            BotSeries(points=[(T[1], D("50"))], flows={}),  # older than the flows
        ]
    )
    assert steps == [Step(T[0], D("100"), D("100")), Step(T[1], D("160"), D("50"))]
    last = time_weighted(steps, opening=D(0))[-1]
    # the newcomer's 50 is at work from the start of the step: +10 on 150
    assert last.pnl == 10 and last.index == RATIOS.add(1, RATIOS.divide(D(10), D(150)))
