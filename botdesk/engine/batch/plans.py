"""What a candle pass works through: each bot's plan (its candles still to process, its
strategy's window), what the pass did, and the candle one plan is at."""

from dataclasses import dataclass, field

from botdesk.db.models import Bot
from botdesk.engine.batch import outcome as outcomes
from botdesk.engine.brokers.base import Broker, CandlePrices
from botdesk.engine.frames import CandleFrame
from botdesk.engine.strategies.base import Strategy
from botdesk.engine.timeframes import timeframe_ms


@dataclass
class Plan:
    """One bot's candles to process in this pass: `history[index]` up to `end`."""

    bot: Bot
    strategy: Strategy
    broker: Broker
    history: CandleFrame
    index: int
    end: int
    size: int  # the strategy's window
    done: int = 0

    @property
    def next_open_ms(self) -> int:
        return int(self.history.open_time_ms[self.index])


@dataclass
class PassOutcome:
    """What one pass did: bot-candles processed, and every batch's outcome."""

    processed: int = 0
    batches: list[outcomes.CandleOutcome] = field(default_factory=list)


def history_for(strategy: Strategy, default: int) -> int:
    """How many candles a bot's strategy is evaluated on: the engine's window, or more if
    the strategy declares it needs more (`Strategy.lookback`)."""
    return max(default, strategy.lookback + 1)


def candle_at(history: CandleFrame, index: int, timeframe: str) -> CandlePrices:
    row = history.row(index)
    return CandlePrices(
        open_time_ms=row["open_time_ms"],
        close_time_ms=row["open_time_ms"] + timeframe_ms(timeframe),
        open=row["open"],
        high=row["high"],
        low=row["low"],
        close=row["close"],
    )
