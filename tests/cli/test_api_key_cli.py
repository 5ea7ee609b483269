"""`botdesk apikey ...` and `botdesk webhook ...` as an operator runs them on the host."""

import pytest
import requests
from click.testing import CliRunner
from sqlmodel import select

from botdesk.cli import main
from botdesk.db.models import ApiKey, AuditLog, Bot
from botdesk.db.session import Database
from botdesk.settings import get_settings
from tests.conftest import make_env
from tests.factories import make_bot, make_user
from tests.processes import run_cli, start_web


@pytest.fixture
def env(sqlite_url, tmp_path):
    return make_env(sqlite_url, tmp_path)


@pytest.fixture
def db(sqlite_url):
    database = Database(sqlite_url)
    yield database
    database.dispose()


def test_create_prints_the_key_once_and_list_never_shows_it(db, env, tmp_path):
    make_user(db, username="tina", role="trader")
    created = run_cli(
        ["apikey", "create", "tina", "--scope", "trade", "--name", "cron", "--expires-days", "7"],
        env,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    prefix = key[:11]
    assert f"API key {prefix} for tina (trade, expires " in created.stdout
    listing = run_cli(["apikey", "list"], env)
    assert prefix in listing.stdout and "cron" in listing.stdout and "active" in listing.stdout
    assert key not in listing.stdout
    assert "tina" in run_cli(["apikey", "list", "--user", "tina"], env).stdout

    web, base = start_web(env, tmp_path / "web.log")
    try:
        engaged = requests.post(
            f"{base}/api/v1/kill-switch",
            headers={"X-API-Key": key},
            json={"reason": "from a script"},
            timeout=30,
        )
        assert engaged.status_code == 202, engaged.text
        revoked = run_cli(["apikey", "revoke", prefix], env)
        assert revoked.returncode == 0 and f"revoked {prefix}" in revoked.stdout
        after = requests.get(f"{base}/api/v1/kill-switch", headers={"X-API-Key": key}, timeout=30)
        assert after.status_code == 401
    finally:
        web.stop()
    assert "revoked" in run_cli(["apikey", "list"], env).stdout
    with db.reading() as session:
        actions = [row.action for row in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert actions[0] == "api_key.create" and "api_key.revoke" in actions


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apikey", "create", "vera", "--scope", "trade"], "needs the trader role; vera is viewer"),
        (["apikey", "create", "ghost", "--scope", "read"], "no user named 'ghost'"),
        (["apikey", "create", "vera", "--scope", "root"], "'root' is not one of"),
        (["apikey", "create", "vera", "--scope", "read", "--expires-days", "0"], "0 is not in"),
        (["apikey", "revoke", "bd_00000000"], "no API key with prefix 'bd_00000000'"),
        (["apikey", "list", "--user", "ghost"], "no user named 'ghost'"),
        (
            ["apikey", "create", "vera", "--scope", "read", "--allow-ip", "10.0.0.300"],
            "'10.0.0.300' is not an IP address or network",
        ),
    ],
)
def test_bad_arguments_get_a_clear_message_and_create_nothing(db, env, monkeypatch, args, message):
    make_user(db, username="vera", role="viewer")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    result = CliRunner().invoke(main, args, prog_name="botdesk")
    get_settings.cache_clear()
    assert result.exit_code != 0
    assert message in result.output
    with db.reading() as session:
        assert session.exec(select(ApiKey)).all() == []


def test_a_key_held_to_an_address_works_only_from_it(db, env, tmp_path):
    make_user(db, username="ike", role="viewer")
    here = run_cli(["apikey", "create", "ike", "--scope", "read", "--allow-ip", "127.0.0.1"], env)
    assert here.returncode == 0, here.stderr
    assert "only from 127.0.0.1/32" in here.stdout
    elsewhere = run_cli(
        ["apikey", "create", "ike", "--scope", "read", "--allow-ip", "10.0.0.0/8",
         "--allow-ip", "2001:db8::/32"],
        env,
    )  # fmt: skip
    assert "only from 10.0.0.0/8, 2001:db8::/32" in elsewhere.stdout
    keys = [result.stdout.strip().splitlines()[-1] for result in (here, elsewhere)]
    web, base = start_web(env, tmp_path / "web.log")
    try:
        answers = [
            requests.get(f"{base}/api/v1/bots", headers={"X-API-Key": key}, timeout=30)
            for key in keys
        ]
    finally:
        web.stop()
    assert answers[0].status_code == 200
    assert answers[1].status_code == 403
    assert answers[1].json()["error"] == {
        "code": "ip_not_allowed",
        "message": "this API key is not allowed from 127.0.0.1",
    }
    with db.reading() as session:
        refusal = session.exec(select(AuditLog).where(AuditLog.action == "api.refused")).one()
    assert refusal.actor == f"api:{keys[1][:11]}" and refusal.ip == "127.0.0.1"
    assert "(only from 10.0.0.0/8, 2001:db8::/32)" in run_cli(["apikey", "list"], env).stdout


def test_webhook_tokens_are_issued_rotated_and_withdrawn(db, env):
    bot = make_bot(db, name="btc-tv", symbol="BTCUSDT")
    issued = run_cli(["webhook", "issue", "btc-tv", "--base-url", "https://desk.example"], env)
    assert issued.returncode == 0, issued.stderr
    url = issued.stdout.strip().splitlines()[-1]
    assert url.startswith("https://desk.example/webhook/tradingview/whk_")
    rotated = run_cli(["webhook", "issue", "btc-tv"], env).stdout.strip().splitlines()[-1]
    assert rotated.startswith("http://127.0.0.1:8050/webhook/tradingview/whk_") and rotated != url
    with db.reading() as session:
        row = session.get(Bot, bot.id)
    assert row.accepts_webhook and row.webhook_token_hash
    assert rotated.rsplit("/", 1)[1] not in row.webhook_token_hash
    withdrawn = run_cli(["webhook", "withdraw", "btc-tv"], env)
    assert withdrawn.returncode == 0 and "is off" in withdrawn.stdout
    again = run_cli(["webhook", "withdraw", "btc-tv"], env)
    assert again.returncode == 1 and "does not accept webhook signals" in again.stderr
    missing = run_cli(["webhook", "issue", "nope"], env)
    assert missing.returncode == 1 and "no bot named 'nope'" in missing.stderr
    with db.reading() as session:
        row = session.get(Bot, bot.id)
        actions = [r.action for r in session.exec(select(AuditLog).order_by(AuditLog.id))]
    assert (row.accepts_webhook, row.webhook_token_hash) == (False, None)
    assert actions == ["webhook_token.issue", "webhook_token.rotate", "webhook_token.withdraw"]
