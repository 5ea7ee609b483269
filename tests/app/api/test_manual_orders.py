"""Manual orders through the REST API of a real desk process: every action under every
key scope (allowed ones queue exactly their command, others are refused and audited),
bad input refused with nothing changed, and `Idempotency-Key`: a retry gets the first
answer, twins sent at once give one command, the same key for another request a 422."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import col, func, select

from botdesk.alerts import retention
from botdesk.db import candles, commands, manual_orders
from botdesk.db.models import AuditLog, Command, IdempotencyKey, Order
from botdesk.db.types import utcnow
from botdesk.settings import Settings
from tests.desk import RunningDesk
from tests.factories import make_api_key, make_bot, make_position, make_user

pytestmark = pytest.mark.integration

SCOPES = (None, "read", "trade", "admin")
LAST_CLOSE = Decimal("68574")  # the newest 1m candle's close: the price the checks use


@pytest.fixture(scope="module")
def world(desk):
    db = desk.db
    owners = {
        "read": make_user(db, role="viewer"),
        "trade": make_user(db, role="trader"),
        "admin": make_user(db, role="admin"),
    }
    keys = {scope: make_api_key(db, owner, scope) for scope, owner in owners.items()}
    bot = make_bot(db, name="api-manual", state="running")
    position = make_position(db, bot, quantity=Decimal("0.02"), cost_basis=Decimal("1371"))
    with db.writing() as session:
        candles.upsert(
            session=session,
            candles=[
                {
                    "symbol": "BTCUSDT",
                    "timeframe": "1m",
                    "open_time_ms": 1_730_109_540_000,
                    "open": Decimal("68529.17"),
                    "high": Decimal("68574"),
                    "low": Decimal("68520.08"),
                    "close": LAST_CLOSE,
                    "volume": Decimal("3"),
                }
            ],
        )
        resting = Order(
            bot_id=bot.id,
            client_order_id=f"bd-{bot.id}-resting",
            symbol="BTCUSDT",
            side="buy",
            type="limit",
            quantity=Decimal("0.01"),
            price=Decimal("60000"),
            status="open",
        )
        session.add(resting)
    return {"keys": keys, "bot": bot, "position": position, "order_id": resting.id}


def actions(world) -> list[tuple[str, str, str, dict, str, dict]]:
    """(name, method, path, body, command kind, the params it must carry)."""
    bot, position = world["bot"], world["position"]
    return [
        (
            "force entry",
            "POST",
            "/api/v1/orders",
            {
                "bot_id": bot.id,
                "type": "limit",
                "price": "68000",
                "size": "quote",
                "amount": 500,
                "stop": "67000.5",
                "take_profit": "70000",
                "reason": "news",
            },
            "order.entry",
            {
                "type": "limit",
                "price": "68000",
                "size": "quote",
                "amount": "500",
                "stop": "67000.5",
                "take_profit": "70000",
                "time_in_force": "GTC",
                "reason": "news",
            },
        ),
        (
            "partial exit",
            "POST",
            f"/api/v1/positions/{position.id}/close",
            {"percent": "50", "reason": "take some"},
            "position.close",
            {"percent": "50", "type": "market", "price": None, "reason": "take some"},
        ),
        (
            "limit exit of a quantity",
            "POST",
            f"/api/v1/positions/{position.id}/close",
            {
                "quantity": "0.005",
                "type": "limit",
                "price": "69000",
                "time_in_force": "GTD",
                "expires_at": "2024-10-28T12:00:00Z",
                "reason": "scale out",
            },
            "position.close",
            {
                "quantity": "0.005",
                "type": "limit",
                "price": "69000",
                "time_in_force": "GTD",
                "expires_at": "2024-10-28T12:00:00+00:00",
                "reason": "scale out",
            },
        ),
        (
            "cancel",
            "DELETE",
            f"/api/v1/orders/{world['order_id']}",
            {"reason": "stale"},
            "order.cancel",
            {"reason": "stale"},
        ),
        (
            "stop to breakeven",
            "PATCH",
            f"/api/v1/positions/{position.id}",
            {"stop": "60000", "take_profit": None, "trailing_percent": "1.5", "reason": "be"},
            "position.protect",
            {"stop": "60000", "take_profit": None, "trailing_percent": "1.5", "reason": "be"},
        ),
    ]


def newest(db, model):
    with db.reading() as session:
        return session.exec(select(func.max(model.id))).one() or 0


def since(db, model, first_id: int, *where):
    with db.reading() as session:
        query = select(model).where(col(model.id) > first_id, *where).order_by(col(model.id))
        return list(session.exec(query))


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s or "no-key")
def test_every_manual_action_under_every_key(desk, world, scope):
    for name, method, path, body, kind, params in actions(world):
        command_mark, audit_mark = newest(desk.db, Command), newest(desk.db, AuditLog)
        key = world["keys"].get(scope)
        response = desk.call(method, path, key, json=body)
        queued = since(desk.db, Command, command_mark)
        audited = since(desk.db, AuditLog, audit_mark)
        if scope is None:
            assert response.status_code == 401, name
            assert queued == []
            continue
        actor = f"api:{key[:11]}"
        if scope == "read":
            assert response.status_code == 403, (name, response.text)
            assert "needs a trade-scoped key" in response.json()["error"]["message"]
            assert queued == []
            assert [(a.action, a.actor, a.outcome) for a in audited] == [
                ("api.refused", actor, "refused")
            ]
            continue
        assert response.status_code == 202, (name, response.text)
        [command] = queued
        assert (command.kind, command.issued_by, command.issued_via) == (kind, actor, "api")
        assert commands.params_of(command) == params, name
        assert command.reason == body["reason"]
        assert response.json()["command"]["id"] == command.id
        assert response.headers["Location"] == f"/api/v1/commands/{command.id}"
        assert ("command." + kind, actor, "ok") in [(a.action, a.actor, a.outcome) for a in audited]
        if kind == "order.entry":
            expected = manual_orders.manual_order_id(world["bot"].id, command.id)
            assert response.json()["client_order_id"] == expected


def test_bad_input_is_refused_and_changes_nothing(desk, world):
    key = world["keys"]["trade"]
    bot, position = world["bot"], world["position"]
    stopped = make_bot(desk.db, name="api-stopped")
    closed = make_position(desk.db, stopped, status="closed")
    entry = {"bot_id": bot.id, "size": "quantity", "amount": "0.01", "reason": "r"}
    close = f"/api/v1/positions/{position.id}/close"
    patch = f"/api/v1/positions/{position.id}"
    cases = [
        ("POST", "/api/v1/orders", {**entry, "reason": " "}, 400, "reason"),
        (
            "POST",
            "/api/v1/orders",
            {k: v for k, v in entry.items() if k != "reason"},
            400,
            "reason: required",
        ),
        ("POST", "/api/v1/orders", {**entry, "side": "sell"}, 400, "side"),
        ("POST", "/api/v1/orders", {**entry, "amount": "0"}, 400, "amount: must be above 0"),
        ("POST", "/api/v1/orders", {**entry, "amount": "0.000000001"}, 400, "at most 8 decimals"),
        ("POST", "/api/v1/orders", {**entry, "amount": True}, 400, "amount"),
        (
            "POST",
            "/api/v1/orders",
            {**entry, "type": "limit"},
            400,
            "a limit order needs its price",
        ),
        ("POST", "/api/v1/orders", {**entry, "price": "1"}, 400, "a market order takes no price"),
        ("POST", "/api/v1/orders", {**entry, "size": "risk"}, 400, "risk sizing takes no amount"),
        ("POST", "/api/v1/orders", {**entry, "stop": "69000"}, 400, "not below the price 68574"),
        ("POST", "/api/v1/orders", {**entry, "take_profit": "68000"}, 400, "not above the price"),
        ("POST", "/api/v1/orders", {**entry, "bot_id": stopped.id}, 409, "start it before"),
        ("POST", "/api/v1/orders", {**entry, "bot_id": 999999}, 404, "no bot 999999"),
        ("POST", close, {"reason": "r", "quantity": "1"}, 400, "the position holds 0.02"),
        ("POST", close, {"reason": "r", "percent": "101"}, 400, "between 0 and 100"),
        ("POST", close, {"reason": "r", "percent": "5", "quantity": "0.01"}, 400, "not both"),
        ("POST", close, {"reason": "r", "type": "limit"}, 400, "needs its price"),
        ("POST", f"/api/v1/positions/{closed.id}/close", {"reason": "r"}, 409, "already closed"),
        ("PATCH", patch, {"reason": "r"}, 400, "give at least one of"),
        ("PATCH", patch, {"reason": "r", "stop": "70000"}, 400, "not below the price"),
        ("PATCH", patch, {"reason": "r", "trailing_percent": "100"}, 400, "below 100"),
        ("PATCH", patch, {"reason": "r", "stop": "1", "take_profit": "1"}, 400, "must be below"),
        ("PATCH", patch, {"reason": "r", "stops": "1"}, 400, "unknown field 'stops'"),
        ("DELETE", "/api/v1/orders/999999", {"reason": "r"}, 404, "no order 999999"),
        ("POST", "/api/v1/orders", {**entry, "time_in_force": "GTD"}, 400, "is for a limit order"),
        (
            "POST",
            "/api/v1/orders",
            {**entry, "type": "limit", "price": "68000", "time_in_force": "GTD"},
            400,
            "a GTD order needs the time it expires",
        ),
        (
            "POST",
            "/api/v1/orders",
            {**entry, "type": "limit", "price": "68000", "expires_at": "2024-10-29T00:00:00Z"},
            400,
            "only a good-till-time (GTD) order expires",
        ),
        (  # the market's clock is the newest candle's (10:00 UTC on 28 October 2024)
            "POST",
            "/api/v1/orders",
            {
                **entry,
                "type": "limit",
                "price": "68000",
                "time_in_force": "GTD",
                "expires_at": "2024-10-28T09:59:00Z",
            },
            400,
            "is not after the market's time 2024-10-28 10:00 UTC",
        ),
        ("POST", "/api/v1/orders", {**entry, "time_in_force": "IOC"}, 400, "time_in_force"),
        ("DELETE", f"/api/v1/orders/{world['order_id']}", {}, 400, "reason: required"),
    ]
    command_mark = newest(desk.db, Command)
    for method, path, body, status, message in cases:
        response = desk.call(method, path, key, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert message in response.json()["error"]["message"], (body, response.text)
    with desk.db.writing() as session:
        session.get(Order, world["order_id"]).status = "filled"
    gone = desk.call("DELETE", f"/api/v1/orders/{world['order_id']}", key, json={"reason": "r"})
    assert gone.status_code == 409 and gone.json()["error"]["code"] == "order_closed"
    with desk.db.writing() as session:
        session.get(Order, world["order_id"]).status = "open"
    assert since(desk.db, Command, command_mark) == []


def test_a_retry_with_the_same_key_gets_the_first_answer(desk, world):
    key = world["keys"]["trade"]
    body = {"bot_id": world["bot"].id, "size": "quantity", "amount": "0.01", "reason": "once"}
    mark = newest(desk.db, Command)
    headers = {"Idempotency-Key": "order-7f3c"}
    first = desk.call("POST", "/api/v1/orders", key, json=body, headers=headers)
    again = desk.call("POST", "/api/v1/orders", key, json=body, headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(since(desk.db, Command, mark)) == 1
    # the same body written otherwise is the same request
    spaced = desk.call(
        "POST",
        "/api/v1/orders",
        key,
        data=b'{"reason": "once", "amount": "0.01", "size": "quantity", "bot_id": '
        + str(world["bot"].id).encode()
        + b"}",
        headers={**headers, "Content-Type": "application/json"},
    )
    assert spaced.status_code == 202 and spaced.json() == first.json()
    # the same key for another request: refused, nothing queued
    other = desk.call(
        "POST", "/api/v1/orders", key, json={**body, "amount": "0.02"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    elsewhere = desk.call(
        "POST",
        f"/api/v1/positions/{world['position'].id}/close",
        key,
        json={"reason": "once"},
        headers=headers,
    )
    assert elsewhere.status_code == 422
    assert len(since(desk.db, Command, mark)) == 1
    # keys belong to the API key that sent them: another key's same string is its own
    admin = desk.call("POST", "/api/v1/orders", world["keys"]["admin"], json=body, headers=headers)
    assert (
        admin.status_code == 202 and admin.json()["command"]["id"] != first.json()["command"]["id"]
    )
    assert len(since(desk.db, Command, mark)) == 2
    # a refused request stores nothing: once fixed, the same key acts
    fresh = {"Idempotency-Key": "fix-then-retry"}
    bad = desk.call("POST", "/api/v1/orders", key, json={**body, "amount": "0"}, headers=fresh)
    assert bad.status_code == 400
    good = desk.call("POST", "/api/v1/orders", key, json=body, headers=fresh)
    assert good.status_code == 202
    assert len(since(desk.db, Command, mark)) == 3
    with desk.db.reading() as session:
        stored = session.exec(
            select(IdempotencyKey).where(IdempotencyKey.key == "order-7f3c")
        ).all()
    assert len(stored) == 2 and all("once" not in row.answer for row in stored)  # encrypted
    malformed = desk.call(
        "POST", "/api/v1/orders", key, json=body, headers={"Idempotency-Key": "a b"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "invalid_idempotency_key"
    assert len(since(desk.db, Command, mark)) == 3


def test_the_kill_switch_endpoints_take_idempotency_keys(desk, world):
    key, admin = world["keys"]["trade"], world["keys"]["admin"]
    mark = newest(desk.db, Command)
    engage = {"Idempotency-Key": "engage-1"}
    first = desk.call("POST", "/api/v1/kill-switch", key, json={"reason": "x"}, headers=engage)
    again = desk.call("POST", "/api/v1/kill-switch", key, json={"reason": "x"}, headers=engage)
    assert first.status_code == again.status_code == 202 and first.json() == again.json()
    release = {"Idempotency-Key": "release-1"}
    freed = desk.call(
        "POST", "/api/v1/kill-switch/release", admin, json={"reason": "ok"}, headers=release
    )
    freed_again = desk.call(
        "POST", "/api/v1/kill-switch/release", admin, json={"reason": "ok"}, headers=release
    )
    # without the key the second release would be a 409 (not engaged): the retry gets the 200
    assert freed.status_code == freed_again.status_code == 200
    assert freed.json() == freed_again.json()
    kinds = [c.kind for c in since(desk.db, Command, mark)]
    assert kinds == ["kill_switch.engage", "kill_switch.release"]


def test_twins_sent_at_once_give_one_order(module_database_url, tmp_path_factory, world):
    """Eight copies of one request, released together against a desk of two workers."""
    desk = RunningDesk(module_database_url, tmp_path_factory.mktemp("twins"), workers=2)
    try:
        key = world["keys"]["trade"]
        body = {"bot_id": world["bot"].id, "size": "quantity", "amount": "0.01", "reason": "twins"}
        mark = newest(desk.db, Command)
        start = threading.Barrier(8)
        answers = []

        def send():
            start.wait()
            answers.append(
                desk.call(
                    "POST", "/api/v1/orders", key, json=body, headers={"Idempotency-Key": "twin"}
                )
            )

        threads = [threading.Thread(target=send) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [202] * 8
        assert len({a.json()["command"]["id"] for a in answers}) == 1
        assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
        assert len(since(desk.db, Command, mark, Command.kind == "order.entry")) == 1
    finally:
        desk.stop()


def test_a_retry_after_the_keys_retention_is_a_new_request(desk, world):
    """Keys are kept BOTDESK_IDEMPOTENCY_KEY_HOURS (24 h): the watchdog's retention job
    removes older ones, and a retry with such a key acts again (docs/api.md says so)."""
    key = world["keys"]["trade"]
    body = {"bot_id": world["bot"].id, "size": "quantity", "amount": "0.01", "reason": "aged"}
    mark = newest(desk.db, Command)
    sent = {}
    for name in ("kept-23h", "gone-25h"):
        headers = {"Idempotency-Key": name}
        sent[name] = desk.call("POST", "/api/v1/orders", key, json=body, headers=headers)
        assert sent[name].status_code == 202
    now = utcnow()
    with desk.db.writing() as session:
        for name, hours in (("kept-23h", 23), ("gone-25h", 25)):
            row = session.exec(select(IdempotencyKey).where(IdempotencyKey.key == name)).one()
            row.created_at = now - timedelta(hours=hours)
            session.add(row)
    with desk.db.writing() as session:
        removed = retention.run(session, Settings(IDEMPOTENCY_KEY_HOURS=24), now=now)
    assert removed["idempotency keys"] == 1
    kept = desk.call(
        "POST", "/api/v1/orders", key, json=body, headers={"Idempotency-Key": "kept-23h"}
    )
    assert kept.headers["Idempotent-Replayed"] == "true"
    assert kept.json() == sent["kept-23h"].json()
    assert len(since(desk.db, Command, mark)) == 2
    again = desk.call(
        "POST", "/api/v1/orders", key, json=body, headers={"Idempotency-Key": "gone-25h"}
    )
    assert again.status_code == 202 and "Idempotent-Replayed" not in again.headers
    assert again.json()["command"]["id"] != sent["gone-25h"].json()["command"]["id"]
    assert len(since(desk.db, Command, mark)) == 3  # it acted again
