"""The risk page on a real desk: an admin sets and disables limits (validated, audited),
bad input is refused with a reason and changes nothing, a trader cannot edit; everyone
sees every refusal with its reason, exposure by symbol and today's P&L against the limit."""

from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db.models import RiskEvent, RiskLimit
from tests.desk import call_registered, click, dependencies, grid_rows
from tests.factories import make_bot, make_position
from tests.rows import audit_trail

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("risk-admin", "admin")


def edit(desk, client, button: str, kind: str, value: str = "", scope: str = "global"):
    values = {"risk-scope.value": scope, "risk-kind.value": kind, "risk-value.value": value}
    return click(client, desk.base, button, values)


def limits(desk) -> dict:
    with desk.db.reading() as session:
        return {(r.bot_id, r.kind): (r.value, r.enabled) for r in session.exec(select(RiskLimit))}


def refresh(client, base: str, output: str):
    for dependency in dependencies(client, base):
        if dependency["output"].startswith(output):
            return call_registered(client, base, dependency, changed=[])
    raise KeyError(output)


def test_an_admin_sets_a_global_and_a_bot_limit_then_disables_it(desk, admin):
    bot = make_bot(desk.db, name="risky-bot")
    response = edit(desk, admin, "risk-save", "daily_loss_limit", "750")
    assert "daily_loss_limit = 750 USDT set globally." in response.text
    response = edit(desk, admin, "risk-save", "max_drawdown", "12.5", scope=str(bot.id))
    # the bot by its name (issue 14 item 27: it said "set for bot 3")
    assert "max_drawdown = 12.5 % from peak set for risky-bot." in response.text
    assert limits(desk)[(None, "daily_loss_limit")] == (Decimal("750"), True)
    assert limits(desk)[(bot.id, "max_drawdown")] == (Decimal("12.5"), True)
    response = edit(desk, admin, "risk-disable", "max_drawdown", scope=str(bot.id))
    assert "disabled for risky-bot" in response.text
    assert limits(desk)[(bot.id, "max_drawdown")][1] is False
    trail = audit_trail(desk.db, actor="risk-admin")
    assert [(row.action, row.target) for row in trail[-3:]] == [
        ("risk_limit.set", "risk_limit:daily_loss_limit:global"),
        ("risk_limit.set", f"risk_limit:max_drawdown:bot:{bot.id}"),
        ("risk_limit.disable", f"risk_limit:max_drawdown:bot:{bot.id}"),
    ]
    table = refresh(admin, desk.base, "..risk-summary.children")
    assert "risky-bot" in table.text and "Daily loss limit" in table.text


@pytest.mark.parametrize(
    ("kind", "value", "scope", "message"),
    [
        ("risk_per_trade", "250", "global", "must be between 0.01 and 100"),
        ("max_open_positions", "two", "global", "is not a number"),
        ("max_open_positions", "1.5", "global", "must be a whole number"),
        ("daily_loss_limit", "1e40", "global", "must be between 1 and 1000000000 USDT, not 1e40"),
        ("max_position_notional", "1" * 40, "global", "must be between 1 and 1000000000"),
        ("daily_loss_limit", "500", "99999999999999999999", "unknown scope"),
        ("no_such_limit", "1", "global", "unknown risk limit"),
        ("cooldown_seconds", "5", "999999", "there is no bot 999999"),
        ("cooldown_seconds", "5", "bot-x", "unknown scope"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_changes_nothing(
    desk, admin, kind, value, scope, message
):
    before, trail = limits(desk), len(audit_trail(desk.db))
    response = edit(desk, admin, "risk-save", kind, value, scope=scope)
    assert message in response.text
    assert limits(desk) == before
    assert len(audit_trail(desk.db)) == trail


def test_a_trader_cannot_edit_limits(desk):
    trader = desk.signed_in("risk-trader", "trader")
    before = limits(desk)
    response = edit(desk, trader, "risk-save", "daily_loss_limit", "1")
    assert response.status_code == 403
    assert limits(desk) == before


def test_everyone_sees_refusals_exposure_and_todays_pnl(desk):
    viewer = desk.signed_in("risk-viewer", "viewer")
    bot = make_bot(desk.db, symbol="SOLUSDT")
    make_position(
        desk.db, bot, quantity=Decimal("10"), cost_basis=Decimal("1500"),
        entry_price=Decimal("150"), last_price=Decimal("160"),
    )  # fmt: skip
    with desk.db.writing() as session:
        session.add(
            RiskEvent(
                bot_id=bot.id,
                kind="refused",
                rule="max_position_notional",
                message="the SOLUSDT position would be worth 6000.00 USDT, above 5000",
            )
        )
    answer = grid_rows(viewer, desk.base, "risk-events")
    rows = answer['{"name":"risk-events","type":"desk-grid"}']["getRowsResponse"]
    [event] = [row for row in rows["rowData"] if row["rule"] == "max_position_notional"]
    assert event["message"] == "the SOLUSDT position would be worth 6000.00 USDT, above 5000"
    assert (event["bot_id"], event["kind"]) == (bot.name, "refused")
    summary = refresh(viewer, desk.base, "..risk-summary.children")
    assert "SOLUSDT" in summary.text and "1,600.00 USDT" in summary.text
    assert "risk-daily-pnl" in summary.text
    assert "100.00 USDT" in summary.text  # the SOLUSDT position's gain, made today
