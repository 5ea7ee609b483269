"""What a candle pass works through: each bot's plan (its candles still to process, its
strategy's window), what the pass did, the candle one plan is at, and the window a
strategy is evaluated on (with the higher timeframes it declares)."""

from dataclasses import dataclass, field

from botdesk.db.models import Bot
from botdesk.engine.batch import outcome as outcomes
from botdesk.engine.brokers.base import Broker, CandlePrices
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.higher import HigherTimeframeError, closed_candles, with_higher
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

    @property
    def window(self) -> slice:
        """The candles the strategy is evaluated on for the candle at `index`."""
        return slice(max(0, self.index - self.size + 1), self.index + 1)


@dataclass
class PassOutcome:
    """What one pass did: bot-candles processed, and every batch's outcome."""

    processed: int = 0
    batches: list[outcomes.CandleOutcome] = field(default_factory=list)


def history_for(strategy: Strategy, default: int, timeframe: str) -> int:
    """How many candles of `timeframe` a bot's strategy is evaluated on: the engine's
    window, or more if the strategy declares it needs more (`Strategy.lookback`, and the
    higher timeframes' candles it reads: `Strategy.candles_needed`)."""
    return max(default, strategy.candles_needed(timeframe_ms(timeframe)) + 1)


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


class Windows:
    """The windows strategies are evaluated on in one pass. A strategy that declares higher
    timeframes gets them with its window: each timeframe's candles are built once per
    pass from the history the bots of a (symbol, timeframe) share, and a window with its
    higher timeframes once per candle for all the bots on that same window. Any other
    strategy gets its plain slice of the history, as before."""

    def __init__(self):
        self._built: dict[tuple[int, str], tuple[CandleFrame, CandleFrame]] = {}
        self._carried: dict[tuple, CandleFrame] = {}
        self._candle: int | None = None

    def frame(self, plan: Plan) -> CandleFrame:
        window = plan.window
        timeframes = plan.strategy.higher_timeframes
        if not timeframes:
            return plan.history[window]
        if self._candle != plan.next_open_ms:  # a new candle: the last one's are done with
            self._carried.clear()
            self._candle = plan.next_open_ms
        timeframes = tuple(timeframes)
        key = (id(plan.history), window.start, window.stop, timeframes)
        carried = self._carried.get(key)
        if carried is None:
            interval = timeframe_ms(plan.bot.timeframe)
            built = {}
            for timeframe in timeframes:
                try:
                    built[timeframe] = self._closed(plan.history, timeframe, interval)
                except HigherTimeframeError:
                    return plan.history[window]  # `evaluate` says why, as the bot's error
            carried = self._carried[key] = with_higher(
                plan.history[window], timeframes, interval_ms=interval, built=built
            )
        return carried

    def _closed(self, history: CandleFrame, timeframe: str, interval: int) -> CandleFrame:
        entry = self._built.get((id(history), timeframe))
        if entry is None:  # the history is kept with them, so its id is not reused
            candles = closed_candles(history, timeframe, interval)
            entry = self._built[(id(history), timeframe)] = (history, candles)
        return entry[1]


class Evaluations:
    """The strategies' signals on one candle: bots whose strategy is `pure` (declared by
    its own class), with the same parameters, on the same window of the same history, get
    one evaluation between them (the same signal frame, read only). Others are evaluated
    each on their own. Started afresh for every candle."""

    def __init__(self, evaluate):
        self._evaluate = evaluate
        self._done: dict[tuple, SignalFrame] = {}

    def signals(self, plan: Plan, frame: CandleFrame) -> SignalFrame:
        strategy = plan.strategy
        if not type(strategy).__dict__.get("pure", False):
            return self._evaluate(strategy, frame)
        window = plan.window  # the history is kept by the plan: its id is not reused
        key = (
            type(strategy),
            strategy.params_key,
            id(plan.history),
            window.start,
            window.stop,
        )
        found = self._done.get(key)
        if found is None:
            found = self._done[key] = self._evaluate(strategy, frame)
        return found
