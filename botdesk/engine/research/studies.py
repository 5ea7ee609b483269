"""Optimisation studies: a strategy's parameters searched with Optuna (TPE, random or a
grid) over one history, each trial an ordinary backtest (`run_backtest`).

Studies live in the project's own database through Optuna's RDB storage (its tables
beside botdesk's), so several processes (on PostgreSQL, several machines) can work on one
study at once: each asks the storage for the next trial and writes its result there. A
study keeps what it optimises (strategy, data, costs, sizing, objective) in its user
attributes, so a process that joins it by name needs nothing else; each trial keeps its
figures and the process that ran it.
"""

import fcntl
import logging
import os
import socket
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

import optuna
from sqlalchemy import create_engine, text

from botdesk.db.migrate import current_revision
from botdesk.engine.backtest.data import History
from botdesk.engine.backtest.runs import BacktestReport, BacktestRequest, run_backtest
from botdesk.engine.backtest.sizing import ALL_CASH, Sizing
from botdesk.engine.research import objectives
from botdesk.engine.research.space import dimensions, grid
from botdesk.engine.strategies import registry

log = logging.getLogger(__name__)

SAMPLERS = ("tpe", "random", "grid")
SETTINGS_ATTR = "botdesk"
_LOCK_KEY = 0x626F7464  # "botd": the advisory lock taken while Optuna's tables are made
optuna.logging.set_verbosity(optuna.logging.WARNING)


class StudyError(ValueError):
    """The study cannot be created, found or run as asked; the message says why."""


@dataclass(frozen=True)
class StudySettings:
    strategy: str
    symbol: str
    timeframe: str
    data_source: str
    from_ms: int | None = None
    to_ms: int | None = None
    objective: str = "sharpe"
    min_trades: int = 10
    sampler: str = "tpe"
    grid_points: int = 5
    seed: int | None = None
    fee_rate: Decimal = Decimal("0.001")
    slippage_bps: Decimal = Decimal(0)
    capital: Decimal = Decimal(10000)
    sizing: Sizing = field(default_factory=lambda: Sizing(ALL_CASH))
    fixed: dict = field(default_factory=dict)  # parameters held, not searched
    trials: int = 100  # what the study was asked for (its progress bar's end)

    def __post_init__(self) -> None:
        if self.objective not in objectives.OBJECTIVES:
            raise StudyError(
                f"objective {self.objective!r} is not one of {', '.join(objectives.OBJECTIVES)}"
            )
        if self.sampler not in SAMPLERS:
            raise StudyError(f"sampler {self.sampler!r} is not one of {', '.join(SAMPLERS)}")
        if self.min_trades < 0:
            raise StudyError("the minimum trade count cannot be negative")
        try:
            registry.get(self.strategy)
        except ValueError as error:
            raise StudyError(str(error)) from None

    def request(self, params: dict) -> BacktestRequest:
        return BacktestRequest(
            strategy=self.strategy,
            params=params,
            symbol=self.symbol,
            timeframe=self.timeframe,
            data_source=self.data_source,
            from_ms=self.from_ms,
            to_ms=self.to_ms,
            fee_rate=self.fee_rate,
            slippage_bps=self.slippage_bps,
            capital=self.capital,
            sizing=self.sizing,
        )

    def to_attrs(self) -> dict:
        values = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "sizing"}
        for name in ("fee_rate", "slippage_bps", "capital"):
            values[name] = str(values[name])
        values["sizing"] = {
            "mode": self.sizing.mode,
            "risk_per_trade": _text(self.sizing.risk_per_trade),
            "max_position_notional": _text(self.sizing.max_position_notional),
        }
        return values

    @classmethod
    def from_attrs(cls, values: dict) -> "StudySettings":
        values = dict(values)
        sizing = values.pop("sizing")
        for name in ("fee_rate", "slippage_bps", "capital"):
            values[name] = Decimal(values[name])
        return cls(
            **values,
            sizing=Sizing(
                sizing["mode"],
                _decimal(sizing["risk_per_trade"]),
                _decimal(sizing["max_position_notional"]),
            ),
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def storage_for(database_url: str) -> optuna.storages.RDBStorage:
    """Optuna's RDB storage in botdesk's database. Its schema check is skipped because
    it reads the `alembic_version` table, which is botdesk's own (Optuna creates its tables
    if they are missing and touches nothing else). Processes opening it at once take turns
    (two creating Optuna's tables together would collide)."""
    engine = create_engine(database_url)
    try:
        if current_revision(engine) is None:  # Optuna would stamp alembic_version itself
            raise StudyError("the database has no botdesk schema yet: run `botdesk init` first")
        kwargs = {"pool_pre_ping": True}
        if database_url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}
        with _one_at_a_time(engine):
            return optuna.storages.RDBStorage(
                database_url, engine_kwargs=kwargs, skip_compatibility_check=True
            )
    finally:
        engine.dispose()


@contextmanager
def _one_at_a_time(engine):
    """An advisory lock on PostgreSQL, a lock file beside the SQLite file."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEY})
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.optuna-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_study(storage, name: str, settings: StudySettings) -> optuna.Study:
    space = dimensions(registry.get(settings.strategy).Params, settings.fixed)
    if not space:
        raise StudyError(f"{settings.strategy} has no parameter left to search")
    try:
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            direction="maximize",
            sampler=sampler_for(settings),
        )
    except optuna.exceptions.DuplicatedStudyError:
        raise StudyError(f"there is already a study named {name!r}") from None
    study.set_user_attr(SETTINGS_ATTR, settings.to_attrs())
    return study


def load_study(storage, name: str) -> tuple[optuna.Study, StudySettings]:
    try:
        summary = optuna.load_study(storage=storage, study_name=name)
    except KeyError:
        raise StudyError(f"there is no study named {name!r}") from None
    attrs = summary.user_attrs.get(SETTINGS_ATTR)
    if attrs is None:
        raise StudyError(f"the study {name!r} was not made by botdesk (no settings)")
    settings = StudySettings.from_attrs(attrs)
    study = optuna.load_study(storage=storage, study_name=name, sampler=sampler_for(settings))
    return study, settings


def open_study(storage, name: str, settings: StudySettings) -> tuple[optuna.Study, bool]:
    """(the study, joined): created with `settings`, or joined when one of that name
    exists with the same settings (the trial count aside); StudyError if they differ."""
    try:
        return create_study(storage, name, settings), False
    except StudyError:
        study, kept = load_study(storage, name)
    mine, theirs = settings.to_attrs(), kept.to_attrs()
    differ = [k for k in mine if k != "trials" and mine[k] != theirs[k]]
    if differ:
        told = ", ".join(f"{k} {theirs[k]!r} (not {mine[k]!r})" for k in differ)
        raise StudyError(f"the study {name!r} exists with other settings: {told}")
    return study, True


def sampler_for(settings: StudySettings):
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.seed)
    if settings.sampler == "grid":
        space = dimensions(registry.get(settings.strategy).Params, settings.fixed)
        return optuna.samplers.GridSampler(grid(space, settings.grid_points), seed=settings.seed)
    return optuna.samplers.TPESampler(seed=settings.seed)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_trials(
    study: optuna.Study,
    settings: StudySettings,
    history: History,
    trials: int,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Run `trials` more trials of the study in this process; returns how many it ran."""
    space = dimensions(registry.get(settings.strategy).Params, settings.fixed)
    worker = worker_name()
    ran = [0]

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)
        params = {**settings.fixed, **{d.name: d.suggest(trial) for d in space}}
        try:
            registry.validate_params(settings.strategy, params)
        except registry.InvalidParams as error:
            trial.set_user_attr("pruned", f"invalid parameters: {error}")
            raise optuna.TrialPruned(str(error)) from None
        try:
            report = run_backtest(settings.request(params), history=history)
        except ValueError as error:  # the history is loaded: what fails is these parameters
            trial.set_user_attr("pruned", f"the backtest failed: {error}")
            raise optuna.TrialPruned(str(error)) from None
        found = objectives.figures(report)
        trial.set_user_attr("figures", found.as_dict())
        try:
            return objectives.value_of(found, settings.objective, settings.min_trades)
        except objectives.NoValue as why:
            trial.set_user_attr("pruned", str(why))
            raise optuna.TrialPruned(str(why)) from None

    def counted(_study, _trial) -> None:
        ran[0] += 1
        if progress is not None:
            progress(ran[0])

    study.optimize(objective, n_trials=trials, callbacks=[counted], catch=())
    return ran[0]


def completed(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Complete trials, best first."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    return sorted(done, key=lambda t: (-t.value, t.number))


def trial_params(study: optuna.Study, settings: StudySettings, number: int) -> dict:
    for trial in study.get_trials(deepcopy=False):
        if trial.number == number:
            return {**settings.fixed, **trial.params}
    raise StudyError(f"the study {study.study_name!r} has no trial {number}")


def rerun(settings: StudySettings, params: dict, history: History | None = None, db=None):
    """The trial's backtest again, as an ordinary backtest: (report, figures)."""
    report: BacktestReport = run_backtest(settings.request(params), history=history, db=db)
    return report, objectives.figures(report)


def with_window(settings: StudySettings, from_ms: int, to_ms: int) -> StudySettings:
    return replace(settings, from_ms=from_ms, to_ms=to_ms)
