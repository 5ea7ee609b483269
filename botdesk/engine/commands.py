"""The engine's side of the command queue: claim each pending command once, run its handler,
record the outcome. Handlers register by kind and must be safe to re-run, because a command
left running by an engine that died is re-examined (not blindly repeated) at restart.
"""

import logging
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
    """The command cannot be carried out; the message is shown to the operator."""


@dataclass
class CommandContext:
    session: Session
    command: Command
    params: dict[str, Any]
    runtime: "EngineRuntime"
    resumed: bool = False  # re-examined after the engine that claimed it died


Handler = Callable[[CommandContext], str]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[kind] = handler
        return handler

    return register


def _run_one(runtime: "EngineRuntime", command_id: int, *, resumed: bool) -> None:
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
            result = handler(context)
            if resumed:
                result = f"{result} (resumed after an engine restart)"
            command_queue.finish(session=session, command=command, ok=True, result=result)
        log.info("command %s %s done: %s", command_id, command.kind, result)
    except CommandFailed as refusal:
        _fail(runtime, command_id, str(refusal))
    except Exception as error:  # a handler bug must not kill the consumer
        log.exception("command %s failed", command_id)
        _fail(runtime, command_id, f"engine error: {type(error).__name__}: {error}")


def _fail(runtime: "EngineRuntime", command_id: int, message: str) -> None:
    with runtime.db.writing() as session:
        command = session.get(Command, command_id)
        command_queue.finish(session=session, command=command, ok=False, result=message)
    log.warning("command %s failed: %s", command_id, message)


def consume(runtime: "EngineRuntime") -> int:
    """Claim and run every pending command, oldest first. Returns how many ran."""
    with runtime.db.reading() as session:
        pending = command_queue.pending_ids(session=session)
    ran = 0
    for command_id in pending:
        with runtime.db.writing() as session:
            claimed = command_queue.claim(
                session=session, command_id=command_id, engine_id=runtime.engine_id
            )
        if claimed:
            _run_one(runtime, command_id, resumed=False)
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
