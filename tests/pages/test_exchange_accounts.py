"""The exchange accounts page on a real desk: credentials go in encrypted, come back only as
the key's last four characters; live accounts need an explicit confirmation; pointing a
bot at a LIVE account needs its name typed, checked on the server, audited."""

from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import exchange_accounts
from botdesk.db.models import AuditLog, Bot, BotState, ExchangeAccount
from tests.desk import click
from tests.factories import TEST_SETTINGS, make_bot, make_position

pytestmark = pytest.mark.integration

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("ops", "admin")


def add(desk, admin, name, environment="testnet", key=KEY, secret=SECRET, confirmed=False):
    values = {
        "exchange-name.value": name,
        "exchange-environment.value": environment,
        "exchange-api-key.value": key,
        "exchange-api-secret.value": secret,
        "exchange-live-confirm.value": confirmed,
    }
    return click(admin, desk.base, "exchange-create", values)


def accounts(db) -> dict[str, ExchangeAccount]:
    with db.reading() as session:
        return {a.name: a for a in exchange_accounts.all_accounts(session=session)}


def test_adding_a_testnet_account_shows_only_the_last_four(desk, admin):
    response = add(desk, admin, "spot-testnet")
    body = response.json()["response"]
    assert body["exchange-api-secret"]["value"] == "" and body["exchange-api-key"]["value"] == ""
    assert KEY not in response.text and SECRET not in response.text
    assert "\\u2026Eh8A" in response.text and "testnet" in response.text
    stored = accounts(desk.db)["spot-testnet"]
    assert exchange_accounts.credentials(stored, TEST_SETTINGS) == (KEY, SECRET)
    with desk.db.reading() as session:
        row = session.exec(
            select(AuditLog).where(AuditLog.action == "exchange_account.create")
        ).one()
    assert (row.actor, row.target) == ("ops", "exchange_account:spot-testnet")
    assert SECRET not in (row.details or "") and KEY not in (row.details or "")


def test_a_live_account_needs_the_real_money_confirmation(desk, admin):
    refused = add(desk, admin, "binance-live", "live")
    assert "tick the box to confirm" in refused.text
    assert "binance-live" not in accounts(desk.db)
    added = add(desk, admin, "binance-live", "live", confirmed=True)
    assert "LIVE \\u00b7 real money" in added.text
    cleared = added.json()["response"]
    assert (cleared["exchange-name"]["value"], cleared["exchange-live-confirm"]["value"]) == (
        "",
        False,
    )  # the next account starts from a blank form, not from a confirmed live one
    assert accounts(desk.db)["binance-live"].environment == "live"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "the name is required"),
        ({"name": "n" * 150}, "name: at most 100 characters (150 given)"),
        ({"name": "x", "secret": ""}, "the API secret is required"),
        ({"name": "x", "key": "has spaces in it and is long"}, "does not look like"),
    ],
)
def test_bad_credentials_are_refused_and_nothing_is_stored(desk, admin, fields, message):
    before = set(accounts(desk.db))
    response = add(desk, admin, **fields)
    assert message in response.text
    assert set(accounts(desk.db)) == before
    assert response.json()["response"]["exchange-api-secret"]["value"] == ""


def test_deleting_an_account_no_bot_uses(desk, admin):
    add(desk, admin, "to-delete")
    add(desk, admin, "in-use")
    make_bot(desk.db, name="uses-it", exchange_account_id=accounts(desk.db)["in-use"].id)
    target = {"exchange-target.value": accounts(desk.db)["in-use"].id}
    refused = click(admin, desk.base, "exchange-delete", target)
    assert "used by bot(s) uses-it" in refused.text
    target = {"exchange-target.value": accounts(desk.db)["to-delete"].id}
    assert "Deleted to-delete" in click(admin, desk.base, "exchange-delete", target).text
    assert "to-delete" not in accounts(desk.db) and "in-use" in accounts(desk.db)


def point(desk, admin, bot, target, confirmation=""):
    values = {
        "exchange-assign-bot.value": bot.id,
        "exchange-assign-account.value": target,
        "exchange-assign-confirm.value": confirmation,
    }
    return click(admin, desk.base, "exchange-assign", values)


def venue(db, bot) -> tuple[str, int | None]:
    with db.reading() as session:
        row = session.get(Bot, bot.id)
    return row.broker, row.exchange_account_id


def test_pointing_a_bot_at_testnet_then_live_needs_its_typed_name(desk, admin):
    add(desk, admin, "assign-testnet")
    add(desk, admin, "assign-live", "live", confirmed=True)
    testnet, live = accounts(desk.db)["assign-testnet"], accounts(desk.db)["assign-live"]
    bot = make_bot(desk.db, name="mover")
    assert (
        "mover now trades on assign-testnet (testnet)" in point(desk, admin, bot, testnet.id).text
    )
    assert venue(desk.db, bot) == ("binance", testnet.id)

    for typed in ("", "MOVER", "someone-else"):
        refused = point(desk, admin, bot, live.id, typed)
        assert "type the bot's name (mover) to confirm" in refused.text
        assert venue(desk.db, bot) == ("binance", testnet.id)
    done = point(desk, admin, bot, live.id, "mover")
    assert "now trades on assign-live (live)" in done.text and "LIVE" in done.text
    assert venue(desk.db, bot) == ("binance", live.id)
    with desk.db.reading() as session:
        trail = session.exec(
            select(AuditLog).where(AuditLog.action == "bot.exchange_account")
        ).all()
    outcomes = [(row.outcome, row.target) for row in trail if row.target == "bot:mover"]
    assert outcomes[-1] == ("ok", "bot:mover")
    assert '"to_environment": "live"' in trail[-1].details
    assert len([row for row in trail if row.outcome == "refused"]) >= 3

    assert "mover now trades on paper" in point(desk, admin, bot, "paper").text
    assert venue(desk.db, bot) == ("paper", None)


def test_a_running_bot_or_one_with_a_position_keeps_its_venue(desk, admin):
    add(desk, admin, "assign-busy")
    target = accounts(desk.db)["assign-busy"].id
    running = make_bot(desk.db, name="runner", state=BotState.RUNNING)
    assert "stop runner first" in point(desk, admin, running, target).text
    holding = make_bot(desk.db, name="holder")
    make_position(desk.db, holding, quantity=Decimal("0.1"))
    assert "has an open position or order" in point(desk, admin, holding, target).text
    assert venue(desk.db, running) == venue(desk.db, holding) == ("paper", None)
