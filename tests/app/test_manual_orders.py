"""The bot page's manual-trading panel on a real desk, through the Dash callbacks as the
browser calls them: a viewer sees no panel and is refused (and audited) on every action;
a trader and an admin queue exactly the command asked for, with their reason; bad input
gets the message and queues nothing."""

from decimal import Decimal

import pytest
from sqlmodel import col, select

from botdesk.db import candles, commands
from botdesk.db.models import AuditLog, Command, Order
from tests.desk import click, render
from tests.factories import make_bot, make_position

pytestmark = pytest.mark.integration


def queued_since(db, mark: int) -> list[Command]:
    with db.reading() as session:
        query = select(Command).where(col(Command.id) > mark).order_by(col(Command.id))
        return list(session.exec(query))


def newest(db, model) -> int:
    with db.reading() as session:
        return session.exec(select(model.id).order_by(col(model.id).desc())).first() or 0


@pytest.fixture(scope="module")
def trading(desk):
    bot = make_bot(desk.db, name="by-hand", state="running")
    position = make_position(desk.db, bot, quantity=Decimal("0.02"), stop_price=Decimal("68400"))
    with desk.db.writing() as session:
        candles.upsert(
            session=session,
            candles=[
                {
                    "symbol": "BTCUSDT",
                    "timeframe": "1m",
                    "open_time_ms": 1_730_109_540_000,
                    **{k: Decimal("68574") for k in ("open", "high", "low", "close")},
                    "volume": Decimal("1"),
                }
            ],
        )
        resting = Order(
            bot_id=bot.id,
            client_order_id=f"bd-{bot.id}-desk-resting",
            symbol="BTCUSDT",
            side="buy",
            type="limit",
            quantity=Decimal("0.01"),
            price=Decimal("60000"),
            status="open",
        )
        session.add(resting)
    clients = {
        "viewer": desk.signed_in("manual-viewer"),
        "trader": desk.signed_in("manual-trader", "trader"),
        "admin": desk.signed_in("manual-admin", "admin"),
    }
    return bot, position, resting, clients


def presses(bot, resting) -> list[tuple[str, dict, str, dict]]:
    """(button, form values, command kind, the params it must carry)."""
    return [
        (
            "manual-entry-confirm",
            {
                "manual-entry-type.value": "limit",
                "manual-entry-price.value": "68000",
                "manual-entry-size.value": "quantity",
                "manual-entry-amount.value": "0.01",
                "manual-entry-stop.value": "67000",
                "manual-entry-take-profit.value": "",
                "manual-entry-until.value": "2024-10-28 12:00",
                "manual-entry-reason.value": "breakout",
            },
            "order.entry",
            {
                "type": "limit",
                "price": "68000",
                "size": "quantity",
                "amount": "0.01",
                "stop": "67000",
                "take_profit": None,
                "time_in_force": "GTD",
                "expires_at": "2024-10-28T12:00:00+00:00",
                "reason": "breakout",
            },
        ),
        (
            "manual-exit-confirm",
            {
                "manual-exit-part.value": "percent",
                "manual-exit-amount.value": "50",
                "manual-exit-type.value": "market",
                "manual-exit-reason.value": "half off",
            },
            "position.close",
            {"percent": "50", "type": "market", "price": None, "reason": "half off"},
        ),
        (
            "manual-protect-submit",
            {
                "manual-protect-stop.value": "68000",
                "manual-protect-take-profit.value": None,
                "manual-protect-trailing.value": "",
                "manual-protect-shown.data": {
                    "stop": "68400",
                    "take_profit": None,
                    "trailing_percent": None,
                },
                "manual-protect-reason.value": "breakeven",
            },
            "position.protect",
            {"stop": "68000", "reason": "breakeven"},
        ),
        (
            "manual-cancel-submit",
            {"manual-cancel-order.value": resting.id, "manual-cancel-reason.value": "stale"},
            "order.cancel",
            {"reason": "stale"},
        ),
    ]


def test_viewers_see_no_panel_and_are_refused(desk, trading):
    bot, _position, resting, clients = trading
    page = render(clients["viewer"], desk.base, f"/bots/{bot.id}")
    assert "manual-not-allowed" in page and "manual-entry-submit" not in page
    trader_page = render(clients["trader"], desk.base, f"/bots/{bot.id}")
    assert "manual-entry-submit" in trader_page and "68,400.00" in trader_page
    mark, audit_mark = newest(desk.db, Command), newest(desk.db, AuditLog)
    for button, values, _kind, _params in presses(bot, resting):
        refused = click(clients["viewer"], desk.base, button, {"bot-id.data": bot.id, **values})
        assert refused.status_code == 403, button
    assert queued_since(desk.db, mark) == []
    with desk.db.reading() as session:
        refusals = session.exec(
            select(AuditLog).where(col(AuditLog.id) > audit_mark, AuditLog.actor == "manual-viewer")
        ).all()
    assert [r.action for r in refusals] == ["access.refused"] * 4


@pytest.mark.parametrize("role", ["trader", "admin"])
def test_traders_and_admins_queue_exactly_what_they_asked(desk, trading, role):
    bot, _position, resting, clients = trading
    for button, values, kind, params in presses(bot, resting):
        mark = newest(desk.db, Command)
        done = click(clients[role], desk.base, button, {"bot-id.data": bot.id, **values})
        assert done.status_code == 200 and "queued" in done.text, (button, done.text)
        [command] = queued_since(desk.db, mark)
        assert (command.kind, command.issued_by, command.issued_via) == (
            kind,
            f"manual-{role}",
            "desk",
        )
        assert commands.params_of(command) == params
        with desk.db.reading() as session:
            audit = session.exec(
                select(AuditLog)
                .where(AuditLog.action == f"command.{kind}")
                .order_by(col(AuditLog.id).desc())
            ).first()
        assert (audit.actor, audit.reason) == (f"manual-{role}", params["reason"])


def test_bad_input_gets_its_message_and_queues_nothing(desk, trading):
    bot, _position, _resting, clients = trading
    trader = clients["trader"]
    entry = {
        "bot-id.data": bot.id,
        "manual-entry-type.value": "market",
        "manual-entry-size.value": "quote",
        "manual-entry-amount.value": "100",
        "manual-entry-reason.value": "r",
    }
    cases = [
        (
            "manual-entry-confirm",
            {**entry, "manual-entry-reason.value": " "},
            "a reason is required",
        ),
        ("manual-entry-confirm", {**entry, "manual-entry-amount.value": "lots"}, "is not a number"),
        ("manual-entry-confirm", {**entry, "manual-entry-stop.value": "70000"}, "not below"),
        ("manual-entry-confirm", {**entry, "manual-entry-type.value": "limit"}, "needs its price"),
        ("manual-entry-confirm", {**entry, "manual-entry-until.value": "soon"}, "is not a time"),
        (
            "manual-exit-confirm",
            {
                "bot-id.data": bot.id,
                "manual-exit-part.value": "quantity",
                "manual-exit-amount.value": "5",
                "manual-exit-type.value": "market",
                "manual-exit-reason.value": "r",
            },
            "the position holds 0.02",
        ),
        (
            "manual-protect-submit",
            {
                "bot-id.data": bot.id,
                "manual-protect-stop.value": "68400",
                "manual-protect-shown.data": {"stop": "68400"},
                "manual-protect-reason.value": "r",
            },
            "Nothing changed",
        ),
        ("manual-cancel-submit", {"manual-cancel-reason.value": "r"}, "Choose an open order"),
    ]
    mark = newest(desk.db, Command)
    for button, values, message in cases:
        answer = click(trader, desk.base, button, values)
        assert answer.status_code == 200 and message in answer.text, (button, answer.text)
    assert queued_since(desk.db, mark) == []


def test_buy_and_sell_ask_first_and_breakeven_fills_the_entry_price(desk, trading):
    """Buy and Sell only open a dialog saying what will be sent; Breakeven only fills the
    stop field: none of them queues anything, and a viewer is refused all three."""
    bot, _position, _resting, clients = trading
    entry = {
        "bot-id.data": bot.id,
        "manual-entry-type.value": "limit",
        "manual-entry-price.value": "68000",
        "manual-entry-size.value": "quantity",
        "manual-entry-amount.value": "0.01",
        "manual-entry-stop.value": "67000",
        "manual-entry-until.value": "",
    }
    sale = {
        "bot-id.data": bot.id,
        "manual-exit-part.value": "percent",
        "manual-exit-amount.value": "50",
        "manual-exit-type.value": "market",
    }
    mark, audit_mark = newest(desk.db, Command), newest(desk.db, AuditLog)
    asked = click(clients["trader"], desk.base, "manual-entry-submit", entry)
    dialog = asked.json()["response"]
    assert dialog["manual-entry-dialog"]["is_open"] is True
    assert dialog["manual-entry-what"]["children"] == (
        "by-hand: buy 0.01 of BTCUSDT by limit at 68000, good till cancelled, stop 67000. "
        "The server checks every value again."
    )
    asked = click(clients["admin"], desk.base, "manual-exit-submit", sale)
    dialog = asked.json()["response"]
    assert dialog["manual-exit-dialog"]["is_open"] is True
    assert dialog["manual-exit-what"]["children"].startswith(
        "by-hand: sell 50 % of the position in BTCUSDT at market."
    )
    kept = click(clients["trader"], desk.base, "manual-entry-cancel", entry).json()["response"]
    assert kept["manual-entry-dialog"]["is_open"] is False
    own = {"bot-id.data": bot.id}
    filled = click(clients["trader"], desk.base, "manual-protect-breakeven", own)
    assert filled.json()["response"]["manual-protect-stop"]["value"] == "60000"
    assert queued_since(desk.db, mark) == []

    for button, values in [
        ("manual-entry-submit", entry),
        ("manual-exit-submit", sale),
        ("manual-protect-breakeven", own),
    ]:
        assert click(clients["viewer"], desk.base, button, values).status_code == 403, button
    with desk.db.reading() as session:
        refusals = session.exec(
            select(AuditLog).where(col(AuditLog.id) > audit_mark, AuditLog.actor == "manual-viewer")
        ).all()
    assert [r.action for r in refusals] == ["access.refused"] * 3
