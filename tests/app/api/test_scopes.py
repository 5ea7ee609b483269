"""Every /api/v1 endpoint under every scope, through a real desk process: no key, read,
trade and admin keys; and the keys that must be refused (revoked, expired, disabled owner,
cut down by a demotion)."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.app.api.routing import OPERATIONS, Operation
from botdesk.db import api_keys, commands, kill_switch, signal_webhooks
from botdesk.db.models import (
    ApiKey,
    AuditLog,
    BacktestRun,
    Bot,
    Command,
    Order,
    Position,
    Role,
    User,
)
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from botdesk.engine.history import import_file
from tests.conftest import SHARED_DATA
from tests.factories import TEST_SETTINGS, make_api_key, make_bot, make_position, make_user

pytestmark = pytest.mark.integration

RANK = {"read": 0, "trade": 1, "admin": 2}
KILL_SWITCH = "/api/v1/kill-switch"
RELEASE = "/api/v1/kill-switch/release"


@dataclass
class World:
    keys: dict[str, str]
    owners: dict[str, User]
    bot: Bot
    position: Position
    command_id: int
    backtest_id: int
    db: Database
    running_bot: Bot
    order_id: int


@pytest.fixture(scope="module")
def world(desk) -> World:
    db = desk.db
    owners = {
        "read": make_user(db, role="viewer"),
        "trade": make_user(db, role="trader"),
        "admin": make_user(db, role="admin"),
    }
    keys = {scope: make_api_key(db, owner, scope) for scope, owner in owners.items()}
    bot = make_bot(db)
    position = make_position(db, bot)
    with db.writing() as session:
        command = commands.issue(session=session, kind="bot.stop", issued_by="test")
        backtest = BacktestRun(
            strategy="ema_cross", symbol="BTCUSDT", timeframe="1h", data_source="sample"
        )
        session.add(backtest)
        session.flush()
    running = make_bot(db, state="running")  # a manual entry needs a running bot
    with db.writing() as session:
        resting = Order(
            bot_id=running.id,
            client_order_id=f"bd-{running.id}-matrix",
            symbol="BTCUSDT",
            side="buy",
            type="limit",
            quantity=Decimal("0.01"),
            price=Decimal("50000"),
            status="open",
        )
        session.add(resting)
    if SHARED_DATA.exists():  # a month of 5m candles (and 15m, 1h, 4h) for the analysis
        import_file(db, SHARED_DATA / "BTCUSDT-5m.csv", symbol="BTCUSDT", timeframe="5m")
    return World(keys, owners, bot, position, command.id, backtest.id, db, running, resting.id)


def _set_kill_switch(db, engaged: bool) -> None:
    with db.writing() as session:
        if kill_switch.status(session=session).engaged == engaged:
            return
        if engaged:
            kill_switch.engage(session=session, by="test", role=Role.ADMIN, reason="test")
        else:
            kill_switch.release(session=session, by="test", role=Role.ADMIN, reason="test")


def _key_id(op: Operation, world: World, presented: str | None) -> int:
    """A key the presented key may read (its own) or revoke (a fresh one of its owner and
    scope, so the matrix never revokes the keys it presents)."""
    if presented is None:
        return 1
    owner = world.owners[presented]
    with world.db.writing() as session:
        if op.method == "DELETE":
            row, _ = api_keys.create(
                session=session, owner=session.get(User, owner.id), scope=presented, actor="test"
            )
            return row.id
        prefix = world.keys[presented][:11]
        return api_keys.by_prefix(session=session, prefix=prefix).id


def _url(op: Operation, world: World, presented: str | None = None) -> str:
    key_id = _key_id(op, world, presented) if "{key_id}" in op.path else None
    return op.path.format(
        bot_id=world.bot.id,
        position_id=world.position.id,
        command_id=world.command_id,
        run_id=world.backtest_id,
        symbol="BTCUSDT",
        key_id=key_id,
        order_id=world.order_id,
        webhook_id=_webhook_id(world, presented) if "{webhook_id}" in op.path else None,
        series="scope_matrix",
    )


def _webhook_id(world: World, presented: str | None) -> int:
    """A webhook of the presented key's owner (deleted by the matrix, so a fresh one)."""
    if presented is None:
        return 1
    with world.db.writing() as session:
        registered = signal_webhooks.register(
            session=session,
            url="https://1.1.1.1/hook",
            events=["signal.created"],
            filters=None,
            owner_id=world.owners[presented].id,
            api_key_id=None,
            by="test",
            settings=TEST_SETTINGS,
        )
        return registered.webhook.id


BODIES = {
    "/api/v1/auth/keys": {"scope": "read", "name": "scope matrix"},
    # an address literal: registering resolves the host, and this machine has no DNS
    "/api/v1/webhooks": {"url": "https://1.1.1.1/hook", "events": ["signal.created"]},
    "/api/v1/positions/{position_id}": {"reason": "scope matrix", "trailing_percent": "2"},
    # the same point each time: a repeat is accepted and changes nothing
    "/api/v1/ml/external/{series}": {"points": [{"time": 1_640_995_200_000, "value": 1}]},
}


def _body(op: Operation, world: World) -> dict:
    if op.path == "/api/v1/orders":  # a manual entry (queued only: no engine runs here)
        return {
            "bot_id": world.running_bot.id,
            "size": "quantity",
            "amount": "0.01",
            "reason": "scope matrix",
        }
    return BODIES.get(op.path, {"reason": "scope matrix"})


def _expected(op: Operation, presented: str | None) -> int:
    if op.scope is None:
        return op.status
    if presented is None:
        return 401
    return op.status if RANK[presented] >= RANK[op.scope.value] else 403


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: f"{op.method} {op.path}")
def test_every_endpoint_under_every_scope(desk, world, op):
    if "{symbol}" in op.path and not SHARED_DATA.exists():
        pytest.skip("the analysis needs ../shared/data's candles")
    body = _body(op, world) if op.body is not None else None
    for presented in (None, "read", "trade", "admin"):
        # The release needs an engaged switch; everything else runs with it off.
        _set_kill_switch(desk.db, engaged=op.path == RELEASE)
        url = _url(op, world, presented)
        # a stream never ends by itself: read its status and headers, then hang up
        streams = op.media_type == "text/event-stream"
        response = desk.call(op.method, url, world.keys.get(presented), json=body, stream=streams)
        expected = _expected(op, presented)
        if streams and response.status_code == expected == 200:
            assert response.headers["Content-Type"].startswith(op.media_type)
            response.close()
            continue
        assert response.status_code == expected, (presented, response.text)
        if expected == 401:
            assert response.json()["error"]["code"] == "unauthenticated"
        if expected == 403:
            assert response.json()["error"]["code"] == "forbidden"
            assert (
                f"needs a{'n' if op.scope.value == 'admin' else ''} {op.scope}"
                in (response.json()["error"]["message"])
            )
    _set_kill_switch(desk.db, engaged=False)


def _commands_since(db, command_id: int) -> list[Command]:
    with db.reading() as session:
        query = select(Command).where(col(Command.id) > command_id).order_by(col(Command.id))
        return list(session.exec(query))


def _audit_since(db, audit_id: int) -> list[AuditLog]:
    with db.reading() as session:
        query = select(AuditLog).where(col(AuditLog.id) > audit_id).order_by(col(AuditLog.id))
        return list(session.exec(query))


def _last_ids(db) -> tuple[int, int]:
    with db.reading() as session:
        last_command = session.exec(select(Command.id).order_by(col(Command.id).desc())).first()
        last_audit = session.exec(select(AuditLog.id).order_by(col(AuditLog.id).desc())).first()
    return last_command or 0, last_audit or 0


def test_a_trade_key_engages_the_kill_switch_and_a_read_key_cannot(desk, world):
    _set_kill_switch(desk.db, engaged=False)
    last_command, last_audit = _last_ids(desk.db)
    body = {"reason": "exchange incident", "flatten": True}

    refused = desk.call("POST", KILL_SWITCH, world.keys["read"], json=body)
    assert refused.status_code == 403
    assert desk.call("GET", KILL_SWITCH, world.keys["read"]).json()["engaged"] is False
    assert _commands_since(desk.db, last_command) == []

    engaged = desk.call("POST", KILL_SWITCH, world.keys["trade"], json=body)
    assert engaged.status_code == 202, engaged.text
    prefix = world.keys["trade"][:11]
    state = desk.call("GET", KILL_SWITCH, world.keys["read"]).json()
    assert state["engaged"] is True and state["flatten"] is True
    assert (state["reason"], state["engaged_by"]) == ("exchange incident", f"api:{prefix}")
    assert state["engaged_at"] and state["command_id"] == engaged.json()["command"]["id"]
    assert engaged.headers["Location"] == f"/api/v1/commands/{state['command_id']}"

    [command] = _commands_since(desk.db, last_command)
    assert (command.kind, command.issued_by, command.issued_via) == (
        "kill_switch.engage",
        f"api:{prefix}",
        "api",
    )
    followed = desk.call("GET", engaged.headers["Location"], world.keys["read"]).json()
    assert followed["command"]["status"] == "pending"

    rows = [(r.action, r.actor, r.outcome, r.user_id) for r in _audit_since(desk.db, last_audit)]
    assert (
        "api.refused",
        f"api:{world.keys['read'][:11]}",
        "refused",
        world.owners["read"].id,
    ) in rows
    assert ("command.kill_switch.engage", f"api:{prefix}", "ok", world.owners["trade"].id) in rows
    assert ("api.request", f"api:{prefix}", "ok", world.owners["trade"].id) in rows

    not_admin = desk.call("POST", RELEASE, world.keys["trade"], json={"reason": "over"})
    assert not_admin.status_code == 403
    released = desk.call("POST", RELEASE, world.keys["admin"], json={"reason": "over"})
    assert released.status_code == 200 and released.json()["kill_switch"]["engaged"] is False
    again = desk.call("POST", RELEASE, world.keys["admin"], json={"reason": "over"})
    assert again.status_code == 409 and "not engaged" in again.json()["error"]["message"]


def test_control_actions_queue_commands_and_never_touch_the_bot(desk, world):
    _set_kill_switch(desk.db, engaged=False)
    last_command, _ = _last_ids(desk.db)
    key = world.keys["trade"]
    bot_id, position_id = world.bot.id, world.position.id
    for verb in ("start", "pause", "stop"):
        response = desk.call("POST", f"/api/v1/bots/{bot_id}/{verb}", key, json={"reason": verb})
        assert response.status_code == 202, response.text
    no_reason = desk.call("POST", f"/api/v1/positions/{position_id}/close", key)
    assert no_reason.status_code == 400 and "reason: required" in no_reason.text
    closed = desk.call(
        "POST", f"/api/v1/positions/{position_id}/close", key, json={"reason": "enough"}
    )
    assert closed.status_code == 202, closed.text
    queued = _commands_since(desk.db, last_command)
    assert [(c.kind, c.target, c.reason) for c in queued] == [
        ("bot.start", f"bot:{bot_id}", "start"),
        ("bot.pause", f"bot:{bot_id}", "pause"),
        ("bot.stop", f"bot:{bot_id}", "stop"),
        ("position.close", f"position:{position_id}", "enough"),
    ]
    assert commands.params_of(queued[-1]) == {"price": None, "reason": "enough", "type": "market"}
    with desk.db.reading() as session:
        bot = session.get(Bot, bot_id)
    assert (bot.desired_state, bot.status) == ("stopped", "stopped")  # the engine's to change

    _set_kill_switch(desk.db, engaged=True)
    refused = desk.call("POST", f"/api/v1/bots/{bot_id}/start", key)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "kill_switch_engaged"
    _set_kill_switch(desk.db, engaged=False)

    closed_position = make_position(desk.db, world.bot, status="closed", symbol="ETHUSDT")
    gone = desk.call(
        "POST", f"/api/v1/positions/{closed_position.id}/close", key, json={"reason": "x"}
    )
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "position_closed"
    for path in ("/api/v1/bots/999999/start", "/api/v1/positions/999999/close"):
        missing = desk.call("POST", path, key, json={"reason": "x"})
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def _refused(desk, key: str, path: str = "/api/v1/bots"):
    response = desk.call("GET", path, key)
    return response.status_code, response.json()["error"]["message"]


def test_revoked_expired_disabled_and_unknown_keys_are_refused(desk):
    db = desk.db
    owner = make_user(db, role="trader")
    key = make_api_key(db, owner, "trade")
    assert desk.call("GET", "/api/v1/bots", key).status_code == 200
    with db.reading() as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == key[:11])).one()
    assert row.last_used_at is not None

    with db.writing() as session:
        session.get(ApiKey, row.id).expires_at = utcnow() - timedelta(seconds=1)
    assert _refused(desk, key) == (401, "this API key has expired")
    with db.writing() as session:
        session.get(ApiKey, row.id).expires_at = utcnow() + timedelta(days=1)
        session.get(User, owner.id).disabled = True
    assert _refused(desk, key) == (401, "the owner of this API key is disabled")
    with db.writing() as session:
        session.get(User, owner.id).disabled = False
        session.get(ApiKey, row.id).revoked_at = utcnow()
    assert _refused(desk, key) == (401, "this API key was revoked")

    forged = key[:11] + "_" + "A" * 43
    assert _refused(desk, forged) == (401, "invalid API key")
    assert _refused(desk, "Bearer something") == (401, "invalid API key")
    missing = desk.call("GET", "/api/v1/bots")
    assert missing.status_code == 401
    assert "X-API-Key" in missing.json()["error"]["message"]

    with db.reading() as session:
        refusals = session.exec(
            select(AuditLog)
            .where(AuditLog.action == "api.refused", AuditLog.actor == f"api:{key[:11]}")
            .order_by(col(AuditLog.id))  # PostgreSQL's heap order is not insertion order
        ).all()
    assert [r.reason for r in refusals] == [
        "this API key has expired",
        "the owner of this API key is disabled",
        "this API key was revoked",
        "invalid API key",
    ]


def test_a_key_stops_working_beyond_its_owners_current_role(desk):
    db = desk.db
    owner = make_user(db, role="admin")
    key = make_api_key(db, owner, "admin")
    _set_kill_switch(db, engaged=True)
    with db.writing() as session:
        session.get(User, owner.id).role = Role.TRADER
    assert desk.call("GET", "/api/v1/kill-switch", key).status_code == 200
    release = desk.call("POST", RELEASE, key, json={"reason": "try"})
    assert release.status_code == 403
    assert f"its owner {owner.username} is now trader" in release.json()["error"]["message"]
    engage = desk.call("POST", KILL_SWITCH, key, json={"reason": "still a trader"})
    assert engage.status_code == 202
    with db.writing() as session:
        session.get(User, owner.id).role = Role.VIEWER
    assert desk.call("POST", KILL_SWITCH, key, json={"reason": "viewer now"}).status_code == 403
    assert desk.call("GET", "/api/v1/kill-switch", key).status_code == 200
    _set_kill_switch(db, engaged=False)


def test_read_keys_leave_no_audit_trail_of_reads_but_write_keys_do(desk, world):
    _, last_audit = _last_ids(desk.db)
    assert desk.call("GET", "/api/v1/orders", world.keys["read"]).status_code == 200
    assert desk.call("GET", "/api/v1/orders?limit=0", world.keys["admin"]).status_code == 400
    rows = _audit_since(desk.db, last_audit)
    assert [(r.action, r.actor, r.outcome, r.target) for r in rows] == [
        ("api.request", f"api:{world.keys['admin'][:11]}", "refused", "GET /api/v1/orders")
    ]
