"""The engine's side of the command queue: claim each pending command once, run its handler,
record the outcome. Handlers register by kind and must be safe to re-run, because a command
left running by an engine that died is re-examined (not blindly repeated) at restart.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from botdesk.db import commands as command_queue
from botdesk.db.models import Command

if TYPE_CHECKING:
    from botdesk.engine.runtime import EngineRuntime

log = logging.getLogger(__name__)


class CommandFailed(Exception):
    """The command cannot be carried out; the message is shown to the operator.

    With `keep_changes` the handler's writes are committed with the failure (e.g. a
    refusal already recorded as a risk event); otherwise they are rolled back.
    """

    def __init__(self, message: str, *, keep_changes: bool = False):
        super().__init__(message)
        self.keep_changes = keep_changes


@dataclass
class Continue:
    """A handler's answer when its work goes on after its transaction commits.

    The command stays "running" (with `progress` as its result) until `work()` returns the
    final result (or raises CommandFailed). `background` runs it in its own thread, for
    long work such as a backtest; otherwise the consumer runs it at once. Either way a
    dead engine's unfinished command is re-run at restart, so the work must be idempotent.
    """

    work: Callable[[], str]
    progress: str = "running"
    background: bool = False


@dataclass
class CommandContext:
    session: Session
    command: Command
    params: dict[str, Any]
    runtime: "EngineRuntime"
    resumed: bool = False  # re-examined after the engine that claimed it died


Handler = Callable[[CommandContext], "str | Continue"]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def _run_one(runtime: "EngineRuntime", command_id: int, *, resumed: bool) -> None:
    follow_up = None
    try:
        with runtime.db.writing() as session:
            command = session.get(Command, command_id)
            if resumed:
                command.claimed_by = runtime.engine_id
                command.attempts += 1
            handler = HANDLERS.get(command.kind)
            if handler is None:
                known = ", ".join(sorted(HANDLERS))
                message = f"unknown command kind {command.kind!r}; known kinds: {known}"
                command_queue.finish(session=session, command=command, ok=False, result=message)
                return
            context = CommandContext(
                session=session,
                command=command,
                params=command_queue.params_of(command),
                runtime=runtime,
                resumed=resumed,
            )
            try:
                result = handler(context)
            except CommandFailed as refusal:
                if not refusal.keep_changes:
                    raise
                command_queue.finish(
                    session=session, command=command, ok=False, result=str(refusal)
                )
                log.warning("command %s failed: %s", command_id, refusal)
                return
            if isinstance(result, Continue):
                follow_up = result
                command.result = result.progress
                session.add(command)
            else:
                _finish(session, command, result, resumed)
        if follow_up is None:
            log.info("command %s %s done: %s", command_id, command.kind, result)
    except CommandFailed as refusal:
        _fail(runtime, command_id, str(refusal))
        return
    except Exception as error:  # a handler bug must not kill the consumer
        log.exception("command %s failed", command_id)
        _fail(runtime, command_id, f"engine error: {type(error).__name__}: {error}")
        return
    if follow_up is not None:
        if follow_up.background:
            name = f"command-{command_id}"
            threading.Thread(
                target=_follow_up,
                args=(runtime, command_id, follow_up, resumed),
                name=name,
                daemon=True,  # an engine that stops leaves it running: re-run at restart
            ).start()
        else:
            _follow_up(runtime, command_id, follow_up, resumed)


def _finish(session, command: Command, result: str, resumed: bool) -> None:
    if resumed:
        result = f"{result} (resumed after an engine restart)"
    command_queue.finish(session=session, command=command, ok=True, result=result)


def _follow_up(runtime: "EngineRuntime", command_id: int, follow_up: Continue, resumed) -> None:
    try:
        result = follow_up.work()
    except CommandFailed as refusal:
        _fail(runtime, command_id, str(refusal))
        return
    except Exception as error:
        log.exception("command %s failed", command_id)
        _fail(runtime, command_id, f"engine error: {type(error).__name__}: {error}")
        return
    with runtime.db.writing() as session:
        command = session.get(Command, command_id)
        _finish(session, command, result, resumed)
    log.info("command %s %s done: %s", command_id, command.kind, result)


def _fail(runtime: "EngineRuntime", command_id: int, message: str) -> None:
    with runtime.db.writing() as session:
        command = session.get(Command, command_id)
        command_queue.finish(session=session, command=command, ok=False, result=message)
    log.warning("command %s failed: %s", command_id, message)


def consume(runtime: "EngineRuntime", limit: int = 50) -> int:
    """Claim and run pending commands one at a time, the next one chosen afresh each time
    (a kill switch engaged meanwhile goes first, see `pending_ids`). Returns how many ran."""
    ran = attempts = 0
    while attempts < limit:
        attempts += 1
        with runtime.db.reading() as session:
            pending = command_queue.pending_ids(session=session, limit=1)
        if not pending:
            break
        with runtime.db.writing() as session:  # another engine may claim it first: next
            claimed = command_queue.claim(
                session=session, command_id=pending[0], engine_id=runtime.engine_id
            )
        if claimed:
            _run_one(runtime, pending[0], resumed=False)
            ran += 1
    return ran


def resume_interrupted(runtime: "EngineRuntime", dead_engine_ids: list[str] | None) -> int:
    """Re-examine commands a dead engine left running; handlers are idempotent per command."""
    with runtime.db.reading() as session:
        stranded = command_queue.left_running(session=session, engine_ids=dead_engine_ids)
    for command in stranded:
        log.warning("re-examining command %s %s left running", command.id, command.kind)
        _run_one(runtime, command.id, resumed=True)
    return len(stranded)


@handles("engine.ping")
def _ping(context: CommandContext) -> str:
    return f"pong from engine {context.runtime.engine_id}"
