"""The `botdesk` command. Each subcommand lives in a small module of this package.

Subcommands are imported when they are run, not before: `botdesk web` never loads the
backtester, `botdesk user add` never loads TA-Lib, so every command starts in a fraction of
the time (`botdesk --help` imports them all, to print their one-line help).
"""

from importlib import import_module

import click

from botdesk import __version__

# name -> (module of botdesk.cli, the command's attribute in it)
COMMANDS: dict[str, tuple[str, str]] = {
    "apikey": ("api_keys", "apikey"),
    "backtest": ("backtest", "backtest"),
    "data": ("data", "data"),
    "db": ("maintenance", "db"),
    "engine": ("processes", "engine"),
    "init": ("setup", "init"),
    "kill-switch": ("kill_switch", "kill_switch_group"),
    "ml": ("ml", "ml"),
    "notify": ("notify", "notify"),
    "optimize": ("optimize", "optimize"),
    "run": ("processes", "run"),
    "strategy": ("strategies", "strategy"),
    "user": ("users", "user"),
    "walk-forward": ("walk_forward", "walk_forward"),
    "watchdog": ("processes", "watchdog"),
    "web": ("processes", "web"),
    "webhook": ("webhooks", "webhook"),
}


class LazyCommands(click.Group):
    """A group whose subcommands are imported from COMMANDS on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        return getattr(import_module(f"botdesk.cli.{module}"), attribute)


@click.group(
    cls=LazyCommands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="botdesk")
def main() -> None:
    """botdesk: an operator desk for automated crypto trading.

    Quick start: `botdesk init` once, then `botdesk run` (engine and desk together).
    Settings come from BOTDESK_* environment variables or a .env file (see docs/settings.md).
    """
