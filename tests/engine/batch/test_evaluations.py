"""The strategies' signals on one candle (`batch.plans.Evaluations`): bots whose strategy
is pure, with the same parameters on the same window, share one evaluation, which is the
very frame each would get alone; other parameters, another window or a strategy that does
not declare itself pure (a subclass of a built-in one included) are evaluated apart."""

import numpy as np

from botdesk.db.models import Bot
from botdesk.engine.batch.plans import Evaluations, Plan
from botdesk.engine.strategies.ema_cross import EmaCross
from botdesk.engine.strategies.safe import evaluate
from botdesk.engine.strategies.smc_structure import SmcStructure
from tests.engine.driving import sample


class Counted:
    def __init__(self):
        self.calls = 0

    def __call__(self, strategy, frame):
        self.calls += 1
        return evaluate(strategy, frame)


class MyEmaCross(EmaCross):  # a trader's strategy built on a bundled one
    name = "my_ema_cross"


def _plan(strategy, history, index: int = 400, size: int = 300) -> Plan:
    bot = Bot(name="b", strategy=strategy.name, symbol="BTCUSDT", timeframe="1m")
    return Plan(
        bot=bot, strategy=strategy, broker=None, history=history, index=index, end=index + 1,
        size=size,
    )  # fmt: skip


def test_bots_with_the_same_pure_strategy_share_one_evaluation():
    history = sample("BTCUSDT")[:600]
    counted = Counted()
    evaluations = Evaluations(counted)
    smc = {"swing": 4, "min_confidence": 0.7, "stop_atr": 2}
    same = [_plan(SmcStructure(smc), history) for _ in range(5)]
    frames = [evaluations.signals(plan, plan.history[plan.window]) for plan in same]
    assert counted.calls == 1
    alone = evaluate(same[0].strategy, history[same[0].window])
    for frame in frames:
        assert np.array_equal(frame.side, alone.side)
        assert np.array_equal(frame.confidence, alone.confidence)
        assert np.array_equal(frame.stop, alone.stop, equal_nan=True)

    others = [
        _plan(SmcStructure({**smc, "swing": 5}), history),  # other parameters
        _plan(SmcStructure(smc), history, index=401),  # another window
        _plan(SmcStructure(smc), sample("BTCUSDT")[:600]),  # another history
    ]
    for plan in others:
        evaluations.signals(plan, plan.history[plan.window])
    assert counted.calls == 4


def test_a_strategy_not_declared_pure_by_its_own_class_is_evaluated_for_each_bot():
    history = sample("ETHUSDT")[:600]
    counted = Counted()
    evaluations = Evaluations(counted)
    params = {"fast": 5, "slow": 20, "stop_atr": 2}
    for _ in range(3):
        plan = _plan(MyEmaCross(params), history)
        evaluations.signals(plan, plan.history[plan.window])
    assert counted.calls == 3
    for _ in range(3):
        plan = _plan(EmaCross(params), history)
        evaluations.signals(plan, plan.history[plan.window])
    assert counted.calls == 4
