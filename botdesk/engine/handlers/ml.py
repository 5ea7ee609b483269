"""ml.train (queued from the Models page): train a model in a process of its own.

The handler's thread only starts `botdesk ml job ID` (a separate Python process at a
lower priority, see `botdesk.ml.jobs`) and waits for it, so the training's CPU and memory
never compete with the engine's candle path or the kill switch inside one interpreter.
The job writes its progress into the command's result; its last output line is the
command's final result. Re-run after a restart, a job that already trained its model
answers with it."""

import os
import subprocess
import sys

from botdesk.db.ml_trainings import KIND
from botdesk.engine.commands import CommandContext, CommandFailed, Continue, handles

TIMEOUT_S = 6 * 3600


def job_argv(command_id: int) -> list[str]:
    return [sys.executable, "-m", "botdesk", "ml", "job", str(command_id)]


@handles(KIND)
def train(context: CommandContext) -> Continue:
    command_id = context.command.id
    env = os.environ | {"BOTDESK_DATABASE_URL": context.runtime.settings.DATABASE_URL}

    def work() -> str:
        try:
            done = subprocess.run(
                job_argv(command_id),
                env=env,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CommandFailed(f"training took longer than {TIMEOUT_S // 3600} h") from None
        lines = [line for line in (done.stdout + "\n" + done.stderr).splitlines() if line]
        if done.returncode != 0:
            why = lines[-1] if lines else f"exit status {done.returncode}"
            raise CommandFailed(f"training failed: {why.removeprefix('Error: ')}")
        return [line for line in done.stdout.splitlines() if line][-1]

    return Continue(work=work, progress="0% queued", background=True)
