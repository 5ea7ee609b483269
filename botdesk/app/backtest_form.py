"""The backtest form: fields generated from a strategy's parameter model, and the check of
everything submitted before a run is queued (a clear message per field, nothing queued)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import dash_bootstrap_components as dbc

from botdesk.db.backtest_runs import RISK, SIZINGS
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
    """One labelled input per parameter, with its bounds, default and description. The
    bounds are told, not set on the input: a browser drops a number outside min/max, and
    the user would not learn why; the server answers with the model's message instead."""
    schema = registry.params_schema(strategy)
    fields = []
    # The strategy's own parameters first, the stop every strategy has last.
    names = sorted(schema["properties"], key=lambda name: name == "stop_atr")
    for name in names:
        spec = schema["properties"][name]
        bounds = [
            f"{word} {spec[key]}"
            for key, word in (("minimum", "≥"), ("maximum", "≤"))
            if key in spec
        ]
        hint = spec.get("description", "")
        if bounds:
            hint = f"{hint} ({', '.join(bounds)})".strip()
        fields.append(
            dbc.Col(
                [
                    dbc.Label(name, html_for=f"backtests-param-{name}", className="small mb-1"),
                    dbc.Input(
                        id={"type": PARAM, "name": name},
                        type="number",
                        step=1 if spec.get("type") == "integer" else "any",
                        value=spec.get("default"),
                        size="sm",
                    ),
                    dbc.FormText(hint, className="small"),
                ],
                md=3,
            )
        )
    return fields


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


def _number(value, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FormError(field, f"{value!r} is not a number") from None
    if not number.is_finite() or not low <= number <= high:
        raise FormError(field, f"must be between {low} and {high}")
    return number


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
    given = {}
    for name, value in zip(names, values, strict=True):
        if value is None or value == "":
            continue  # the model's default
        given[name] = value
    try:
        return registry.validate_params(strategy, given).model_dump()
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
    fee = _number(_or(fee_percent, "0.1"), "fee", Decimal(0), Decimal(10))
    fee_rate = fee / 100
    if fee_rate != fee_rate.quantize(Decimal("1e-8")):
        raise FormError("fee", "at most 6 decimal places (in %)")
    slippage = _number(
        slippage_bps if slippage_bps is not None else "0", "slippage", Decimal(0), Decimal(1000)
    )
    if slippage != slippage.quantize(Decimal("0.01")):
        raise FormError("slippage", "at most 2 decimal places (in basis points)")
    start = _number(
        capital if capital is not None else "10000", "capital", Decimal(10), Decimal(10**9)
    )
    if start != start.quantize(Decimal("0.01")):
        raise FormError("capital", "at most 2 decimal places")
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
