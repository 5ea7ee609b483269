"""study.optimize (target "study:<name>") and walk_forward.run (target
"walk_forward_run:<id>"): research in the engine, each in its own thread so the command
queue keeps moving. Re-run after a restart, a study runs only the trials it still lacks
and a finished walk-forward is left alone."""

from botdesk.engine.commands import CommandContext, CommandFailed, Continue, handles
from botdesk.engine.handlers.common import target_id
from botdesk.engine.research.runs import execute_walk_forward, optimise_stored


@handles("study.optimize")
def optimise(context: CommandContext) -> Continue:
    target = context.command.target or ""
    if not target.startswith("study:") or not target[len("study:") :]:
        raise CommandFailed(f"target must be study:<name>, not {target!r}")
    name = target[len("study:") :]
    db, url = context.runtime.db, context.runtime.settings.DATABASE_URL

    def work() -> str:
        try:
            return optimise_stored(db, url, name)
        except ValueError as error:
            raise CommandFailed(f"study {name}: {error}") from None

    return Continue(work=work, progress=f"study {name} running", background=True)


@handles("walk_forward.run")
def walk(context: CommandContext) -> Continue:
    run_id = target_id(context, "walk_forward_run")
    db = context.runtime.db

    def work() -> str:
        try:
            return execute_walk_forward(db, run_id)[1]
        except ValueError as error:
            raise CommandFailed(str(error)) from None

    return Continue(work=work, progress=f"walk_forward_run {run_id} running", background=True)
