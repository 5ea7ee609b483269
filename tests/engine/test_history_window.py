"""Every bot gets the history its strategy declares (issue 14 item 28): the engine's
window grows past its default for a strategy that needs more, and a strategy whose
parameters need more than the engine gives is refused when the bot is saved."""

import pytest
from pydantic import Field

from botdesk.db.models import BotState
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.market import WINDOW_CANDLES
from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import MAX_HISTORY_CANDLES, StrategyParams
from botdesk.engine.strategies.smc_structure import SmcStructure
from tests.engine.driving import Driver, runtime_for, sample
from tests.factories import make_bot


class CountingSmc(SmcStructure):
    """smc_structure, noting how many candles each evaluation was given."""

    name = "counting_smc"
    seen: list[int] = []

    def signals(self, candles: CandleFrame) -> SignalFrame:
        CountingSmc.seen.append(len(candles))
        return super().signals(candles)


class GreedyParams(StrategyParams):
    length: int = Field(10, ge=1, le=100000)


class Greedy(SmcStructure):
    """Declares whatever history its `length` says."""

    name = "greedy"
    Params = GreedyParams

    @property
    def lookback(self) -> int:
        return self.params.length


@pytest.fixture
def plug_ins():
    registry.register(CountingSmc)
    registry.register(Greedy)
    CountingSmc.seen = []
    yield
    registry.STRATEGIES.pop("counting_smc", None)
    registry.STRATEGIES.pop("greedy", None)


def test_a_strategy_gets_the_history_it_declares(db, plug_ins):
    params = {"swing": 50, "min_confidence": 0.7, "stop_atr": 2}
    assert CountingSmc(params).lookback == 1000 > WINDOW_CANDLES
    make_bot(db, strategy="counting_smc", params=params, state=BotState.RUNNING)
    make_bot(
        db,
        strategy="counting_smc",
        params={**params, "swing": 5},
        state=BotState.RUNNING,
        symbol="ETHUSDT",
    )
    data = {symbol: sample(symbol)[:1300] for symbol in ("BTCUSDT", "ETHUSDT")}
    driver = Driver(runtime_for(db), data, warmup=1200)
    driver.run(3)
    # swing 50: 1,001 candles each time; swing 5 (100 candles): the default window
    assert sorted(CountingSmc.seen) == [WINDOW_CANDLES] * 3 + [1001] * 3


def test_a_strategy_that_needs_more_than_the_engine_gives_is_refused(plug_ins):
    assert registry.validate_params("greedy", {"length": MAX_HISTORY_CANDLES}).length == 5000
    with pytest.raises(registry.InvalidParams, match="need 5001 candles of history; the engine"):
        registry.validate_params("greedy", {"length": MAX_HISTORY_CANDLES + 1})
    with pytest.raises(registry.InvalidParams, match="at most 5000"):
        registry.create_from_json("greedy", '{"length": 9000}')
