"""backtest.run (target "backtest_run:<id>"): run a stored backtest in the engine, in its
own thread so the command queue keeps moving; its row shows status, progress and results.
Re-running it (after an engine restart) starts it over; a finished run is left alone."""

from botdesk.db.models import BacktestRun
from botdesk.engine.backtest.runs import BacktestError, execute_stored_run
from botdesk.engine.commands import CommandContext, CommandFailed, Continue, handles
from botdesk.engine.handlers.common import existing, target_id


@handles("backtest.run")
def run(context: CommandContext) -> str | Continue:
    run_id = target_id(context, "backtest_run")
    row = existing(context.session, BacktestRun, run_id, "backtest_run")
    if row.status == "done":
        return f"backtest_run {run_id} was already done"
    db = context.runtime.db

    def work() -> str:
        try:
            return execute_stored_run(db, run_id)
        except BacktestError as error:
            raise CommandFailed(str(error)) from None

    return Continue(work=work, progress=f"backtest_run {run_id} running", background=True)
