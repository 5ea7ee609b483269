"""The `botdesk` command. Each subcommand lives in a small module of this package."""

import click

from botdesk import __version__
from botdesk.cli import (
    api_keys,
    backtest,
    backup,
    data,
    kill_switch,
    ml,
    notify,
    optimize,
    processes,
    setup,
    strategies,
    users,
    walk_forward,
    webhooks,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="botdesk")
def main() -> None:
    """botdesk: an operator desk for automated crypto trading.

    Quick start: `botdesk init` once, then `botdesk run` (engine and desk together).
    Settings come from BOTDESK_* environment variables or a .env file (see docs/settings.md).
    """


main.add_command(setup.init)
main.add_command(setup.db)
setup.db.add_command(backup.db_backup)
setup.db.add_command(backup.db_restore)
main.add_command(processes.run)
main.add_command(processes.engine)
main.add_command(processes.web)
main.add_command(processes.watchdog)
main.add_command(users.user)
main.add_command(kill_switch.kill_switch_group)
main.add_command(api_keys.apikey)
main.add_command(webhooks.webhook)
main.add_command(notify.notify)
main.add_command(backtest.backtest)
main.add_command(data.data)
main.add_command(ml.ml)
main.add_command(strategies.strategy)
main.add_command(optimize.optimize)
main.add_command(walk_forward.walk_forward)
