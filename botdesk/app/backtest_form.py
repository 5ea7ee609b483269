"""The backtest form: fields generated from a strategy's parameter model, and the check of
everything submitted before a run is queued (a clear message per field, nothing queued)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from botdesk.app import strategy_params
from botdesk.db import typed
from botdesk.db.backtest_runs import RISK, SIZINGS
from botdesk.db.types import MAX_AMOUNT
from botdesk.engine.sample_data import sample_files
from botdesk.engine.strategies import registry
from botdesk.engine.timeframes import TIMEFRAMES

SAMPLE, CANDLES = "sample", "candles"  # the engine's names (botdesk.engine.backtest.data)
SOURCES = {SAMPLE: "Bundled sample (real Binance 1m klines)", CANDLES: "Stored candles"}
SOURCE_NAMES = {SAMPLE: "bundled sample", CANDLES: "stored candles"}
PARAM = "backtests-param"  # pattern-matching id type of the parameter inputs
DAY_MS = 86_400_000


class FormError(ValueError):
    """A form value that cannot be used; `field` names it for the user."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True)
class BacktestForm:
    strategy: str
    params: dict
    symbol: str
    timeframe: str
    data_source: str
    from_ms: int | None
    to_ms: int | None
    fee_rate: Decimal
    slippage_bps: Decimal
    capital: Decimal
    sizing: str = RISK


def param_fields(strategy: str) -> list:
    """One labelled text input per parameter, with its bounds, default and description
    (strategy_params: the server reads what was typed, the model refuses it)."""
    return strategy_params.param_inputs(strategy, id_type=PARAM, width=3, size="sm")


def _first_last_ms(path) -> tuple[int, int]:
    with path.open("rb") as handle:
        handle.readline()  # header
        first = int(handle.readline().split(b",", 1)[0])
        handle.seek(-200, 2)
        last = int(handle.read().strip().splitlines()[-1].split(b",", 1)[0])
    return first, last


@lru_cache(maxsize=1)
def sample_spans() -> dict[str, tuple[int, int]]:
    """Symbol -> first and last open time (ms) of the bundled sample."""
    return {symbol: _first_last_ms(path) for symbol, path in sample_files().items()}


def utc_day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def start_ms(day: date) -> int:
    return int(datetime.combine(day, time.min, tzinfo=UTC).timestamp() * 1000)


def _number(value, field: str, low: Decimal, high: Decimal, places: int) -> Decimal:
    try:
        return typed.number(value, field=field, low=low, high=high, places=places)
    except typed.Refused as refused:
        raise FormError(field, refused.problem) from None


def _or(value, default: str):
    return default if value is None or value == "" else value


def _day(value, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FormError(field, f"{value!r} is not a date (YYYY-MM-DD, UTC)") from None


def _params(strategy: str, names: list[str], values: list) -> dict:
    try:
        return strategy_params.validated(strategy, names, values)
    except registry.InvalidParams as error:
        raise FormError(error.field or strategy, error.reason) from None


def parse(
    *,
    strategy,
    param_names: list[str],
    param_values: list,
    symbol,
    timeframe,
    source,
    since,
    until,
    fee_percent,
    slippage_bps,
    capital,
    span: tuple[int, int] | None,
    sizing=None,
) -> BacktestForm:
    """The validated form, or FormError naming the field at fault. `span` is the first
    and last open time of the chosen data (None: no data for the symbol)."""
    if strategy not in registry.STRATEGIES:
        raise FormError("strategy", "choose a strategy")
    params = _params(strategy, param_names, param_values)
    if source not in SOURCES:
        raise FormError("data", "choose the bundled sample or the stored candles")
    if not symbol:
        raise FormError("symbol", "choose a symbol")
    if span is None:
        raise FormError("symbol", f"no {SOURCE_NAMES[source]} for {symbol}")
    if timeframe not in TIMEFRAMES:
        raise FormError("timeframe", f"choose one of {', '.join(TIMEFRAMES)}")
    first, last = _day(since, "from"), _day(until, "to")
    if first and last and first > last:
        raise FormError("from", f"{first} is after to ({last})")
    data_first, data_last = utc_day_of(span[0]), utc_day_of(span[1])
    if (first and first > data_last) or (last and last < data_first):
        raise FormError("from", f"the {symbol} data runs from {data_first} to {data_last} (UTC)")
    # fee in % with 6 decimals: a rate with 8; slippage in bps with 2; capital in cents
    fee_rate = _number(_or(fee_percent, "0.1"), "fee", Decimal(0), Decimal(10), 6) / 100
    slippage = _number(_or(slippage_bps, "0"), "slippage", Decimal(0), Decimal(1000), 2)
    start = _number(_or(capital, "10000"), "capital", Decimal(10), MAX_AMOUNT, 2)
    sizing = _or(sizing, RISK)
    if sizing not in SIZINGS:
        raise FormError("sizing", f"choose one of {', '.join(SIZINGS)}")
    return BacktestForm(
        strategy=strategy,
        params=params,
        symbol=symbol,
        timeframe=timeframe,
        data_source=source,
        from_ms=start_ms(first) if first else None,
        to_ms=start_ms(last + timedelta(days=1)) - 1 if last else None,
        fee_rate=fee_rate,
        slippage_bps=slippage,
        capital=start,
        sizing=sizing,
    )
