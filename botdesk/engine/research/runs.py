"""Research work run from the database: a study's trials (`study.optimize`) and a stored
walk-forward (`walk_forward.run`), by the engine's command handlers and the CLI alike."""

import time
from collections.abc import Callable

from botdesk.db import walk_forward_runs
from botdesk.db.models import WalkForwardRun
from botdesk.engine.backtest.data import History, load_history
from botdesk.engine.research import studies, walk_forward
from botdesk.engine.research.studies import StudySettings


def history_for(settings: StudySettings, db) -> History:
    return load_history(
        settings.data_source,
        symbol=settings.symbol,
        timeframe=settings.timeframe,
        from_ms=settings.from_ms,
        to_ms=settings.to_ms,
        db=db,
    )


def optimise_stored(db, database_url: str, name: str) -> str:
    """Run the study's trials still missing (its settings' count less those run), so a
    command re-run after an engine restart finishes the job instead of doubling it."""
    study, settings = studies.load_study(studies.storage_for(database_url), name)
    remaining = settings.trials - len(study.get_trials(deepcopy=False))
    if remaining <= 0:
        return f"study {name} has its {settings.trials} trials"
    studies.run_trials(study, settings, history_for(settings, db), remaining)
    best = studies.completed(study)
    top = f"best {settings.objective} {best[0].value:.4f} (trial {best[0].number})" if best else ""
    return f"study {name}: {remaining} trials run; {top or 'no trial has a value'}"


def walk_forward_settings(settings: StudySettings, **cut) -> dict:
    """What a walk_forward_run row keeps: the study settings and the windows asked for."""
    return {"study": settings.to_attrs(), **cut}


def execute_walk_forward(db, run_id: int, *, on_progress: Callable[[float], None] | None = None):
    """Run the walk_forward_run row `run_id`; returns (the row, a one-line result)."""
    with db.reading() as session:
        row = session.get(WalkForwardRun, run_id)
        if row is None:
            raise walk_forward.WalkForwardError(f"there is no walk_forward_run {run_id}")
        if row.status == "done":
            return row, f"walk_forward_run {run_id} was already done"
        asked = walk_forward_runs.settings_of(row)
    last = [0.0]

    def progress(fraction: float) -> None:
        if on_progress is not None:
            on_progress(fraction)
        if time.monotonic() - last[0] > 0.5 or fraction >= 1:
            last[0] = time.monotonic()
            with db.writing() as session:
                walk_forward_runs.set_progress(session=session, run_id=run_id, fraction=fraction)

    try:
        settings = StudySettings.from_attrs(asked["study"])
        history = history_for(settings, db)
        cuts = walk_forward.windows(
            len(history.candles),
            train=asked["train"],
            test=asked["test"],
            step=asked.get("step"),
            anchored=asked.get("anchored", False),
        )
        progress(0.0)
        result = walk_forward.run(
            settings, history, cuts, trials=asked["trials"], progress=progress
        )
    except ValueError as error:
        with db.writing() as session:
            walk_forward_runs.finish(session=session, run_id=run_id, result=None, error=str(error))
        raise walk_forward.WalkForwardError(f"walk_forward_run {run_id} failed: {error}") from None
    with db.writing() as session:
        walk_forward_runs.finish(session=session, run_id=run_id, result=result, error=None)
        row = session.get(WalkForwardRun, run_id)
    figures = result["figures"]
    if figures is None:
        return row, f"walk_forward_run {run_id} done: no window had a trial with a value"
    return row, (
        f"walk_forward_run {run_id} done: {figures['windows_tested']} windows, "
        f"out-of-sample return {figures['total_return']:+.2%}"
    )
