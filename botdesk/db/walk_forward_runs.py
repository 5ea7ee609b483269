"""Walk-forward runs: created by the CLI or the desk, run by the CLI or the engine, read by
the desk. Settings and results are JSON (see botdesk.engine.research.walk_forward)."""

import json

from sqlmodel import Session, col, select

from botdesk.db import commands
from botdesk.db.models import Command, WalkForwardRun
from botdesk.db.types import utcnow

KIND = "walk_forward.run"


def create(
    *, session: Session, settings: dict, created_by: str, queue: bool = False, **audit
) -> tuple[WalkForwardRun, Command | None]:
    """A run (status "queued" when the engine is to run it, with its command)."""
    run = WalkForwardRun(
        created_by=created_by,
        strategy=settings["study"]["strategy"],
        symbol=settings["study"]["symbol"],
        timeframe=settings["study"]["timeframe"],
        settings=json.dumps(settings, sort_keys=True),
        status="queued" if queue else "running",
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    command = None
    if queue:
        command = commands.issue(
            session=session,
            kind=KIND,
            target=f"walk_forward_run:{run.id}",
            params={"strategy": run.strategy, "symbol": run.symbol},
            issued_by=created_by,
            **audit,
        )
    return run, command


def set_progress(*, session: Session, run_id: int, fraction: float) -> None:
    run = session.get(WalkForwardRun, run_id)
    if run is not None:
        run.status, run.progress = "running", round(min(max(fraction, 0.0), 1.0), 4)
        session.add(run)


def finish(*, session: Session, run_id: int, result: dict | None, error: str | None) -> None:
    run = session.get(WalkForwardRun, run_id)
    run.status = "failed" if error else "done"
    run.error, run.finished_at = error, utcnow()
    if result is not None:
        run.result, run.progress = json.dumps(result), 1.0
    session.add(run)


def recent(*, session: Session, limit: int = 50) -> list[WalkForwardRun]:
    query = select(WalkForwardRun).order_by(col(WalkForwardRun.id).desc()).limit(limit)
    return list(session.exec(query).all())


def settings_of(run: WalkForwardRun) -> dict:
    return json.loads(run.settings)


def result_of(run: WalkForwardRun) -> dict | None:
    return json.loads(run.result) if run.result else None
