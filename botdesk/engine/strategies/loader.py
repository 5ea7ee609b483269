"""Finding the user's strategies: the files of the strategy folder (`BOTDESK_STRATEGY_PATH`)
and the entry points of installed packages (group `botdesk.strategies`).

Each is imported, each Strategy subclass it defines is checked (a name, a title, a
parameter model whose defaults validate, a look-back, the higher timeframes it reads) and
registered. Whatever goes wrong
(a syntax error, an import that raises, a class that does not validate, a name taken) is
kept as a `LoadFailure` with its traceback, for the desk and the CLI to show: it never
stops the process or the other strategies.
"""

import importlib.metadata
import importlib.util
import inspect
import logging
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from botdesk.engine.strategies import registry
from botdesk.engine.strategies.base import Strategy, StrategyParams
from botdesk.engine.timeframes import TIMEFRAMES

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "botdesk.strategies"
MODULE_PREFIX = "botdesk_user_strategies"
NAME = re.compile(r"^[a-z][a-z0-9_]{1,47}$")


class StrategyDefinitionError(ValueError):
    """A strategy class that cannot be used as it is; the message says what to change."""


@dataclass(frozen=True)
class LoadFailure:
    source: str  # the file or the entry point
    message: str  # one line: what went wrong
    traceback: str  # the traceback, the user's own frames included


@dataclass
class LoadReport:
    loaded: dict[str, str] = field(default_factory=dict)  # name -> source
    failures: list[LoadFailure] = field(default_factory=list)


FAILURES: list[LoadFailure] = []  # of the last `load_user_strategies` in this process


def load_user_strategies(
    folder: Path | None, *, packages: bool = True, log_failures: bool = True
) -> LoadReport:
    """Forget the user strategies loaded before, then load the folder's and (with
    `packages`) the installed packages'. Built-in strategies are never replaced. Each
    failure is logged with its traceback (unless the caller shows them itself)."""
    _forget_user_strategies()
    report = LoadReport()
    if folder is not None:
        folder = Path(folder).expanduser()
        if not folder.is_dir():
            report.failures.append(
                LoadFailure(str(folder), f"the strategy folder {folder} does not exist", "")
            )
        else:
            if str(folder) not in sys.path:  # a strategy file may import its _helpers
                sys.path.append(str(folder))
            for path in sorted(folder.glob("*.py")):
                if not path.name.startswith("_"):
                    _load_file(path, report)
    if packages:
        for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            _load_entry_point(entry_point, report)
    FAILURES[:] = report.failures
    registry.LOAD_PROBLEMS[:] = [f"{f.source} failed to load: {f.message}" for f in FAILURES]
    for failure in report.failures if log_failures else ():
        log.error(
            "strategy not loaded from %s: %s\n%s",
            failure.source,
            failure.message,
            failure.traceback,
        )
    return report


def _forget_user_strategies() -> None:
    for name in [n for n in registry.STRATEGIES if not registry.is_built_in(n)]:
        del registry.STRATEGIES[name]
        del registry.SOURCES[name]
    for module in [m for m in sys.modules if m.startswith(MODULE_PREFIX + ".")]:
        del sys.modules[module]
    FAILURES.clear()
    registry.LOAD_PROBLEMS.clear()


def _load_file(path: Path, report: LoadReport) -> None:
    module_name = MODULE_PREFIX + "." + re.sub(r"\W", "_", path.stem)
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException as error:  # SyntaxError, SystemExit from user code: all reported
        sys.modules.pop(module_name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        report.failures.append(_failure(str(path), f"importing it raised {_said(error)}"))
        return
    classes = _defined_in(module)
    if not classes:
        report.failures.append(
            LoadFailure(str(path), "it defines no Strategy subclass (class X(Strategy))", "")
        )
    for cls in classes:
        _register(cls, str(path), report)


def _load_entry_point(entry_point, report: LoadReport) -> None:
    dist = getattr(entry_point.dist, "name", None) or "a package"
    source = f"package {dist}: {entry_point.name} = {entry_point.value}"
    try:
        loaded = entry_point.load()
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        report.failures.append(_failure(source, f"importing it raised {_said(error)}"))
        return
    if isinstance(loaded, ModuleType):
        classes = _defined_in(loaded)
    elif inspect.isclass(loaded) and issubclass(loaded, Strategy):
        classes = [loaded]
    else:
        classes = []
    if not classes:
        message = "it is neither a Strategy subclass nor a module defining one"
        report.failures.append(LoadFailure(source, message, ""))
    for cls in classes:
        _register(cls, source, report)


def _defined_in(module: ModuleType) -> list[type[Strategy]]:
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, Strategy)
        and value.__module__ == module.__name__
        and not inspect.isabstract(value)
    ]


def _register(cls: type[Strategy], source: str, report: LoadReport) -> None:
    try:
        check_definition(cls)
        taken = registry.SOURCES.get(cls.name)
        if taken is not None and registry.STRATEGIES[cls.name] is not cls:
            raise StrategyDefinitionError(f"the name {cls.name!r} is already taken by {taken}")
        registry.register(cls, source)
    except Exception as error:
        report.failures.append(_failure(source, f"{cls.__name__}: {_said(error)}"))
        return
    report.loaded[cls.name] = source


def check_definition(cls: type[Strategy]) -> None:
    """Raises StrategyDefinitionError (or what the class itself raises) unless the class
    has what the desk and the engine rely on."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME.match(name):
        raise StrategyDefinitionError(
            f"its name {name!r} must be 2-48 lower-case letters, digits or _ (e.g. my_trend)"
        )
    if not isinstance(getattr(cls, "title", None), str):
        raise StrategyDefinitionError("it needs a title (a short label for the desk)")
    params = getattr(cls, "Params", None)
    if not (inspect.isclass(params) and issubclass(params, StrategyParams)):
        raise StrategyDefinitionError("its Params must be a subclass of StrategyParams")
    defaults = params()  # every parameter needs a default that validates
    strategy = cls(defaults)
    lookback = strategy.lookback
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise StrategyDefinitionError(f"its lookback must be a whole number >= 1, not {lookback!r}")
    _check_higher(strategy)


def _check_higher(strategy: Strategy) -> None:
    timeframes = strategy.higher_timeframes
    if isinstance(timeframes, str) or not isinstance(timeframes, tuple | list):
        raise StrategyDefinitionError(
            f'its higher_timeframes must be a tuple of timeframes (e.g. ("1h", "4h")), '
            f"not {timeframes!r}"
        )
    for timeframe in timeframes:
        if timeframe not in TIMEFRAMES:
            raise StrategyDefinitionError(
                f"its higher_timeframes name {timeframe!r}; use {', '.join(TIMEFRAMES)}"
            )
    needed = strategy.higher_lookback
    if isinstance(needed, bool) or not isinstance(needed, int) or needed < 0:
        raise StrategyDefinitionError(
            f"its higher_lookback must be a whole number >= 0, not {needed!r}"
        )


def _said(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _failure(source: str, message: str) -> LoadFailure:
    return LoadFailure(source, message, traceback.format_exc())
