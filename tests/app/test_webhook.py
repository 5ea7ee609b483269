"""The TradingView webhook through a real desk: an alert becomes a signal and a command once,
repeats change nothing, bad payloads and unknown tokens get a 4xx and an audit row."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from botdesk.db import commands, webhook_tokens
from botdesk.db.models import AuditLog, Bot, Command, Role, Signal
from tests.factories import make_bot
from tests.processes import wait_until

pytestmark = pytest.mark.integration


def issue_token(db, bot) -> str:
    with db.writing() as session:
        return webhook_tokens.issue(
            session=session, bot=session.get(Bot, bot.id), actor="test", role=Role.ADMIN
        )


def counts(db) -> tuple[int, int]:
    with db.reading() as session:
        signals = session.exec(select(func.count()).select_from(Signal)).one()
        queued = session.exec(select(func.count()).select_from(Command)).one()
    return signals, queued


def post(desk, token, payload=None, **options):
    if payload is not None:
        options["json"] = payload
    return desk.call("POST", f"/webhook/tradingview/{token}", **options)


def alert(**fields):
    return {"alert_id": "a1", "action": "buy", "symbol": "BTCUSDT", "price": 60000.5, **fields}


@pytest.fixture
def hooked(desk):
    bot = make_bot(desk.db, symbol="BTCUSDT", timeframe="5m")
    return bot, issue_token(desk.db, bot)


def test_an_alert_becomes_a_new_signal_and_a_signal_execute_command(desk, hooked):
    bot, token = hooked
    answer = post(desk, token, alert(stop="59000.123456789", take_profit=61000))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "accepted"
    with desk.db.reading() as session:
        signal = session.get(Signal, body["signal_id"])
        command = session.get(Command, body["command_id"])
        audited = session.exec(
            select(AuditLog).where(AuditLog.action == "command.signal.execute")
        ).all()
    assert (signal.bot_id, signal.source, signal.dedupe_key, signal.status) == (
        bot.id,
        "webhook",
        "tv:a1",
        "new",
    )
    assert (signal.symbol, signal.timeframe, signal.side) == ("BTCUSDT", "5m", "buy")
    assert signal.price == Decimal("60000.5")
    assert signal.stop == Decimal("59000.12345679")  # rounded half-even to 8 places
    assert signal.take_profit == Decimal("61000")
    assert (command.kind, command.target, command.issued_via, command.status) == (
        "signal.execute",
        f"signal:{signal.id}",
        "webhook",
        "pending",
    )
    assert commands.params_of(command) == {"action": "buy", "alert_id": "a1"}
    assert [row.target for row in audited][-1] == f"signal:{signal.id}"


def test_a_repeated_alert_id_does_nothing_twice(desk, hooked):
    _, token = hooked
    first = post(desk, token, alert(alert_id="repeat-1"))
    assert first.status_code == 201
    before = counts(desk.db)
    again = post(desk, token, alert(alert_id="repeat-1", price=1))
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "signal_id": first.json()["signal_id"]}
    assert counts(desk.db) == before
    other_token = issue_token(desk.db, make_bot(desk.db, symbol="BTCUSDT"))
    assert post(desk, other_token, alert(alert_id="repeat-1")).status_code == 201  # per bot


def test_simultaneous_repeats_make_exactly_one_signal(desk, hooked):
    _, token = hooked
    before = counts(desk.db)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(desk, token, alert(alert_id="race")), range(8)))
    assert sorted(a.status_code for a in answers) == [200] * 7 + [201]
    assert len({a.json()["signal_id"] for a in answers}) == 1
    assert counts(desk.db) == (before[0] + 1, before[1] + 1)


def test_close_and_sell_are_exits_and_ignore_levels(desk, hooked):
    _, token = hooked
    answer = post(
        desk, token, alert(alert_id="x-1", action="CLOSE", stop=1, symbol="BINANCE:btcusdt")
    )
    assert answer.status_code == 201, answer.text
    with desk.db.reading() as session:
        signal = session.get(Signal, answer.json()["signal_id"])
    assert (signal.side, signal.stop, signal.reason) == (
        "sell",
        None,
        "TradingView alert x-1: close",
    )


@pytest.mark.parametrize(
    ("payload", "options", "message"),
    [
        (alert(symbol="ETHUSDT"), {}, "the alert is for ETHUSDT; this bot trades BTCUSDT"),
        (alert(action="short"), {}, "action"),
        (alert(price=0), {}, "price"),
        (alert(price="-5"), {}, "price"),
        (alert(price="abc"), {}, "price"),
        (alert(price=1e-9), {}, "at least 0.00000001"),
        (alert(price=20_000_000_000), {}, "price"),
        (alert(price="1E+30"), {}, "price"),
        (
            None,
            {"data": '{"alert_id": "a", "action": "buy", "symbol": "BTCUSDT", "price": 1e40}'},
            "price",
        ),
        (alert(stop="1e-400"), {}, "at least 0.00000001"),
        (alert(stop=70000), {}, "stop must be below"),
        (alert(take_profit=50000), {}, "take_profit must be above"),
        (alert(alert_id=""), {}, "alert_id"),
        (alert(alert_id="has space"), {}, "alert_id"),
        (alert(alert_id="x" * 65), {}, "alert_id"),
        (alert(comment="hi"), {}, "unknown field 'comment'"),
        ({"action": "buy"}, {}, "alert_id: required"),
        (None, {"data": "not json"}, "not valid JSON"),
        (None, {"data": ""}, "must be a JSON object"),
        (None, {"data": '["buy"]'}, "must be a JSON object"),
        (None, {"data": '{"price": Infinity}'}, "not valid JSON"),
        (None, {"data": "{" + " " * 20_000 + "}"}, "larger than 16384 bytes"),
    ],
)
def test_bad_payloads_get_a_4xx_and_an_audit_row_and_change_nothing(
    desk, hooked, payload, options, message
):
    bot, token = hooked
    before = counts(desk.db)
    answer = post(desk, token, payload, **options)
    assert 400 <= answer.status_code < 500, answer.text
    assert message in answer.json()["error"]["message"]
    assert counts(desk.db) == before
    with desk.db.reading() as session:
        row = session.exec(select(AuditLog).order_by(col(AuditLog.id).desc())).first()
    assert (row.action, row.outcome, row.target) == ("webhook.rejected", "refused", f"bot:{bot.id}")
    assert message in row.reason


def test_unknown_rotated_and_withdrawn_tokens_are_refused(desk, hooked):
    bot, token = hooked
    for wrong in ("nonsense", "whk_" + "A" * 43):
        answer = post(desk, wrong, alert())
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_token"
    new_token = issue_token(desk.db, bot)
    assert post(desk, token, alert(alert_id="old")).status_code == 404
    assert post(desk, new_token, alert(alert_id="new")).status_code == 201
    with desk.db.writing() as session:
        session.get(Bot, bot.id).accepts_webhook = False  # turned off by hand, token kept
    off = post(desk, new_token, alert(alert_id="off"))
    assert off.status_code == 403 and off.json()["error"]["code"] == "webhook_off"
    with desk.db.writing() as session:
        webhook_tokens.withdraw(
            session=session, bot=session.get(Bot, bot.id), actor="test", role=Role.ADMIN
        )
    assert post(desk, new_token, alert(alert_id="gone")).status_code == 404
    with desk.db.reading() as session:
        refused = session.exec(select(AuditLog).where(AuditLog.action == "webhook.refused")).all()
    assert len(refused) >= 4 and all(token not in (r.details or "") for r in refused[-1:])
    assert desk.call("GET", f"/webhook/tradingview/{new_token}").status_code == 405
    logged = wait_until(
        lambda: "/webhook/tradingview/<token>" in desk.log.read_text() and desk.log.read_text()
    )
    assert token not in logged and new_token not in logged  # the access log keeps no token


def test_only_admins_manage_tokens(desk):
    bot = make_bot(desk.db)
    with (
        desk.db.writing() as session,
        pytest.raises(webhook_tokens.WebhookTokenError, match="admin"),
    ):
        webhook_tokens.issue(
            session=session, bot=session.get(Bot, bot.id), actor="t", role="trader"
        )
