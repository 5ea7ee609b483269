"""The `botdesk` command as a user runs it: init, db upgrade, user management, --help."""

import os
import stat
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner
from sqlmodel import select

from botdesk.cli import main
from botdesk.db.models import AuditLog, Bot, User
from botdesk.db.session import Database
from tests.processes import run_cli


def test_init_creates_everything_once_and_is_idempotent(fresh_env, tmp_path):
    first = run_cli(["init"], fresh_env)
    assert first.returncode == 0, first.stderr
    assert "username: admin" in first.stdout
    password = first.stdout.split("password: ")[1].split()[0]
    assert len(password) >= 16
    var = tmp_path / "var"
    for key in ("secret_key", "data_key"):
        assert stat.S_IMODE(os.stat(var / key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(var).st_mode) == 0o700

    second = run_cli(["init"], fresh_env)
    assert second.returncode == 0, second.stderr
    assert "password" not in second.stdout  # printed once, never again
    db = Database(fresh_env["BOTDESK_DATABASE_URL"])
    with db.reading() as session:
        admins = session.exec(select(User)).all()
        bots = session.exec(select(Bot)).all()
    db.dispose()
    assert [(u.username, u.role) for u in admins] == [("admin", "admin")]
    assert password not in admins[0].password_hash
    assert len(bots) == 3
    assert {bot.symbol for bot in bots} == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}


def test_user_commands_manage_accounts_and_audit_them(fresh_env):
    assert run_cli(["db", "upgrade"], fresh_env).returncode == 0
    added = run_cli(
        ["user", "add", "Trader.One", "--role", "trader", "--password-stdin"],
        fresh_env,
        input_text="a long enough password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "created trader.one (trader)" in added.stdout
    listing = run_cli(["user", "list"], fresh_env)
    assert "trader.one" in listing.stdout and "trader" in listing.stdout

    assert run_cli(["user", "set-role", "trader.one", "viewer"], fresh_env).returncode == 0
    assert run_cli(["user", "disable", "trader.one"], fresh_env).returncode == 0
    db = Database(fresh_env["BOTDESK_DATABASE_URL"])
    with db.reading() as session:
        user = session.exec(select(User).where(User.username == "trader.one")).one()
        actions = [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id))]
    db.dispose()
    assert (user.role, user.disabled, user.session_version) == ("viewer", True, 3)
    assert actions == ["user.create", "user.set_role", "user.disable"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ["user", "add", "x1", "--role", "king", "--password-stdin"],
            "long enough pw!!\n",
            "'king' is not one of",
        ),
        (
            ["user", "add", "okname", "--role", "viewer", "--password-stdin"],
            "short\n",
            "at least 12 characters",
        ),
        (
            ["user", "add", "bad name!", "--role", "viewer", "--password-stdin"],
            "long enough pw!!\n",
            "username must be",
        ),
        (["user", "set-role", "ghost", "admin"], None, "no user named 'ghost'"),
        (["user", "add", "okname", "--role", "viewer"], None, "--password-stdin"),
    ],
)
def test_bad_arguments_get_a_clear_message_and_change_nothing(fresh_env, args, stdin, message):
    assert run_cli(["db", "upgrade"], fresh_env).returncode == 0
    result = run_cli(args, fresh_env, input_text=stdin)
    assert result.returncode != 0
    assert message in result.stderr
    db = Database(fresh_env["BOTDESK_DATABASE_URL"])
    with db.reading() as session:
        assert session.exec(select(User)).all() == []
        assert session.exec(select(AuditLog)).all() == []
    db.dispose()


def test_the_last_admin_cannot_be_demoted_or_disabled(fresh_env):
    assert run_cli(["init", "--no-demo"], fresh_env).returncode == 0
    demote = run_cli(["user", "set-role", "admin", "viewer"], fresh_env)
    assert demote.returncode == 1 and "last active admin" in demote.stderr
    disable = run_cli(["user", "disable", "admin"], fresh_env)
    assert disable.returncode == 1 and "last active admin" in disable.stderr


def test_invalid_settings_are_reported_not_crashed_on(fresh_env):
    result = run_cli(["db", "upgrade"], {**fresh_env, "BOTDESK_PORT": "not-a-port"})
    assert result.returncode == 1
    assert "invalid settings" in result.stderr and "PORT" in result.stderr


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()):
    context = click.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None and command.name == name, name
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _all_commands(command, (*prefix, name))


def test_every_command_has_help():
    runner = CliRunner()
    paths = list(_all_commands(main))
    assert ("user", "add") in paths and ("db", "upgrade") in paths
    for path in paths:
        result = runner.invoke(main, [*path, "--help"], prog_name="botdesk")
        assert result.exit_code == 0, path
        assert "Usage: botdesk " + " ".join(path) in result.output
        assert len(result.output.splitlines()) > 3


def test_a_command_loads_only_what_it_runs():
    """`botdesk user ...` starts without the backtester, TA-Lib or the Binance client."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from botdesk.cli import main; import click;"
            "main.get_command(click.Context(main), 'user');"
            "print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "botdesk.cli.users" in loaded
    heavy = {"talib", "binance", "numba", "botdesk.engine.research.report", "botdesk.cli.ml"}
    assert heavy & set(loaded) == set()


def test_kill_switch_from_the_command_line(fresh_env):
    assert run_cli(["db", "upgrade"], fresh_env).returncode == 0
    assert "off (never engaged)" in run_cli(["kill-switch", "status"], fresh_env).stdout
    refused = run_cli(["kill-switch", "engage", "--reason", "  "], fresh_env)
    assert refused.returncode == 1 and "a reason is required" in refused.stderr
    engaged = run_cli(["kill-switch", "engage", "--reason", "feed broken", "--flatten"], fresh_env)
    assert engaged.returncode == 0, engaged.stderr
    assert "ENGAGED (halt and flatten)" in engaged.stdout
    status = run_cli(["kill-switch", "status"], fresh_env).stdout
    assert "ENGAGED (halt and flatten) by cli:" in status and "feed broken" in status
    released = run_cli(["kill-switch", "release", "--reason", "fixed"], fresh_env)
    assert released.returncode == 0 and "bots stay stopped" in released.stdout
    again = run_cli(["kill-switch", "release", "--reason", "fixed"], fresh_env)
    assert again.returncode == 1 and "not engaged" in again.stderr
