"""Trainings queued from the desk: `ml.train` commands (see `botdesk.ml.jobs`). The command
row is the job: its params say what to train, its result holds the progress while it runs
and the trained model's version when it is done."""

import json

from sqlmodel import Session, col, func, select

from botdesk.db import commands
from botdesk.db.models import Candle, Command

KIND = "ml.train"
TARGET = "ml_model:new"


def queue(*, session: Session, params: dict, issued_by: str, **audit) -> Command:
    """The pending command (and its audit row, `command.ml.train`)."""
    return commands.issue(
        session=session, kind=KIND, target=TARGET, params=params, issued_by=issued_by, **audit
    )


def get(*, session: Session, command_id: int) -> Command:
    command = session.get(Command, command_id)
    if command is None:
        raise LookupError(f"no command {command_id}")
    return command


def params_of(command: Command) -> dict:
    return json.loads(command.params or "{}")


def note_progress(*, session: Session, command_id: int, text: str) -> None:
    command = session.get(Command, command_id)
    if command is not None and command.status in ("pending", "running"):
        command.result = text[:2000]
        session.add(command)


def recent(*, session: Session, limit: int = 10) -> list[Command]:
    query = (
        select(Command).where(Command.kind == KIND).order_by(col(Command.id).desc()).limit(limit)
    )
    return list(session.exec(query).all())


def stored_candles(*, session: Session, symbol: str, timeframe: str) -> int:
    return session.exec(
        select(func.count())
        .select_from(Candle)
        .where(Candle.symbol == symbol, Candle.timeframe == timeframe)
    ).one()
