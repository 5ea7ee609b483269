"""The strategy registry: names to classes, parameter validation, JSON schemas for forms.

Pure: it imports no database or scheduler code, so the desk can import it to build and
validate bot forms. Plug-ins add themselves with `register`; `loader` finds the user's
(a folder, installed packages) and keeps what failed to load in `FAILURES`.
"""

import json
from typing import Any

from pydantic import ValidationError

from botdesk.engine.higher import HigherTimeframeError, check_timeframe
from botdesk.engine.strategies.base import MAX_HISTORY_CANDLES, Strategy, StrategyParams
from botdesk.engine.strategies.bollinger_breakout import BollingerBreakout
from botdesk.engine.strategies.confluence import Confluence
from botdesk.engine.strategies.ema_cross import EmaCross
from botdesk.engine.strategies.macd_trend import MacdTrend
from botdesk.engine.strategies.rsi_reversion import RsiReversion
from botdesk.engine.strategies.smc_structure import SmcStructure
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml.predictor import MlPredictor

BUILT_IN = "built-in"
STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        EmaCross,
        RsiReversion,
        BollingerBreakout,
        MacdTrend,
        SmcStructure,
        Confluence,
        MlPredictor,
    )
}
# where each strategy came from: "built-in", a file of the strategy folder, or a package's
# entry point ("package:dist name = module:attr")
SOURCES: dict[str, str] = dict.fromkeys(STRATEGIES, BUILT_IN)
# what failed to load (set by the loader), told with an unknown name: it may be the one
LOAD_PROBLEMS: list[str] = []


class UnknownStrategy(ValueError):
    """No strategy has this name."""


class InvalidParams(ValueError):
    """Parameters a strategy refuses; `field` names the first offending one."""

    def __init__(self, strategy: str, field: str | None, message: str):
        self.strategy = strategy
        self.field = field
        self.reason = message
        where = f"{strategy}: {field}: " if field else f"{strategy}: "
        super().__init__(where + message)


def register(cls: type[Strategy], source: str = "registered in code") -> type[Strategy]:
    """Add a strategy class (a plug-in) under its `name`; usable as a class decorator."""
    if not getattr(cls, "name", None):
        raise ValueError(f"{cls.__name__} has no name")
    if SOURCES.get(cls.name) == BUILT_IN and STRATEGIES[cls.name] is not cls:
        raise ValueError(f"{cls.name} is the name of a built-in strategy; choose another")
    STRATEGIES[cls.name] = cls
    SOURCES[cls.name] = source
    return cls


def is_built_in(name: str) -> bool:
    return SOURCES.get(name) == BUILT_IN


def get(name: str) -> type[Strategy]:
    try:
        return STRATEGIES[name]
    except KeyError:
        known = ", ".join(sorted(STRATEGIES))
        problems = "".join(f"; {problem}" for problem in LOAD_PROBLEMS[:3])
        raise UnknownStrategy(
            f"unknown strategy {name!r}; known strategies: {known}{problems}"
        ) from None


def validate_params(name: str, params: dict[str, Any] | None) -> StrategyParams:
    """The strategy's validated parameters (defaults filled in), or InvalidParams naming
    the field at fault."""
    cls = get(name)
    if params is not None and not isinstance(params, dict):
        raise InvalidParams(name, None, "parameters must be a JSON object")
    try:
        validated = cls.Params.model_validate(params or {})
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            allowed = ", ".join(cls.Params.model_fields)
            message = f"not a parameter of {name} (it takes {allowed})"
        elif field is None:  # a rule across fields, e.g. "fast must be below slow"
            named = message.split(" ", 1)[0]
            field = named if named in cls.Params.model_fields else None
        raise InvalidParams(name, field, message) from None
    needed = cls(validated).lookback
    if needed > MAX_HISTORY_CANDLES:
        raise InvalidParams(
            name,
            None,
            f"these parameters need {needed} candles of history; the engine gives a bot at "
            f"most {MAX_HISTORY_CANDLES}",
        )
    return validated


def timeframe_refusal(strategy: Strategy, timeframe: str) -> str | None:
    """Why a bot of `timeframe` cannot run `strategy`, or None: a higher timeframe it reads
    that `timeframe` cannot build, or more history than the engine gives a bot."""
    interval = timeframe_ms(timeframe)
    for higher in strategy.higher_timeframes:
        try:
            check_timeframe(higher, interval)
        except HigherTimeframeError as error:
            return f"{strategy.name} reads {higher} candles, and {error}"
    needed = strategy.candles_needed(interval)
    if needed > MAX_HISTORY_CANDLES:
        return (
            f"{strategy.name} needs {needed} {timeframe} candles of history (for the higher "
            f"timeframes it reads); the engine gives a bot at most {MAX_HISTORY_CANDLES}: "
            "choose a longer timeframe"
        )
    return None


def create(name: str, params: dict[str, Any] | None = None) -> Strategy:
    """A ready strategy instance; raises UnknownStrategy or InvalidParams."""
    return get(name)(validate_params(name, params))


def create_from_json(name: str, text: str | None) -> Strategy:
    """A strategy from a bot row's JSON parameters; InvalidParams for bad JSON."""
    try:
        params = json.loads(text or "{}")
    except json.JSONDecodeError as error:
        raise InvalidParams(name, None, f"parameters are not valid JSON ({error})") from None
    return create(name, params)


def params_schema(name: str) -> dict[str, Any]:
    """JSON schema of a strategy's parameters (title, description, bounds, default)."""
    return get(name).Params.model_json_schema()
