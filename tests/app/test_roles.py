"""Every role against every action, through real HTTP against a real `botdesk web`.

The tables below say, from DESIGN.md's role table and independently of the code's
registry, the least role allowed to run each Dash callback and to open each page. A
callback or page the desk registers that is missing here fails the test: when you add a
callback, add its line to CALLBACK_ROLES (keyed by its first output).
"""

import json

import pytest
import requests
from sqlalchemy import text
from sqlmodel import col, func, select

from botdesk.db.models import ALL_TABLES, AuditLog, Role, User
from tests.desk import (
    RunningDesk,
    call_registered,
    dependencies,
    first_output,
)

pytestmark = pytest.mark.integration

VIEWER, TRADER, ADMIN = Role.VIEWER, Role.TRADER, Role.ADMIN
CLIENTSIDE = "clientside"  # runs in the browser; the server has nothing to run and refuses

# callback (its first output) -> least role allowed to run it
CALLBACK_ROLES = {
    "_pages_content.children": VIEWER,  # Dash's page router; each page checks its own role
    "_pages_dummy.children": CLIENTSIDE,  # Dash's page title, in the browser
    "shell-status.children": VIEWER,  # the engine and kill-switch strip, the navbar's control
    "overview-health.children": VIEWER,  # see dashboards
    "account-password-result.children": VIEWER,  # everyone changes their own password
    "account-2fa-enrol-qr.children": VIEWER,  # everyone manages their own two-factor
    "users-table.children": ADMIN,  # manage users
    "exchange-table.children": ADMIN,  # exchange credentials
    "exchange-assign-result.children": ADMIN,  # point a bot at an exchange account
    "audit-rows.children": ADMIN,  # read the audit log
    "api-keys-created.children": VIEWER,  # everyone manages their own API keys
    "api-keys-webhook-result.children": ADMIN,  # TradingView webhook tokens
    "kill-modal.is_open": TRADER,  # the engage dialog
    "kill-result.children": TRADER,  # engage the kill switch
    "kill-release-modal.is_open": ADMIN,  # the release dialog
    "kill-release-result.children": ADMIN,  # release the kill switch
    '{"name":["MATCH"],"type":"desk-grid"}.getRowsResponse': VIEWER,  # every grid's rows
    '{"name":["MATCH"],"type":"desk-grid-marker"}.data': VIEWER,  # grids' change markers
    '{"name":["MATCH"],"type":"desk-grid-refreshed"}.data': CLIENTSIDE,  # grid reload
    "overview-summary.children": VIEWER,  # see dashboards
    "bots-list.children": VIEWER,  # see the bots
    '{"bot":["ALL"],"type":"bots-pnl"}.children': VIEWER,  # the bots' P&L, marked
    "bots-result.children": TRADER,  # start, pause, stop a bot
    "bots-form.is_open": ADMIN,  # the bot form (create, edit)
    "bots-params.children": ADMIN,  # the form's strategy parameters
    "bots-form-error.children": ADMIN,  # create or edit a bot
    "bots-delete-dialog.is_open": ADMIN,  # the delete dialog
    "bots-delete-error.children": ADMIN,  # delete a bot
    "bot-body.children": VIEWER,  # a bot's chart and P&L
    "manual-cancel-order.options": TRADER,  # the manual panel's open orders and position
    "manual-entry-result.children": TRADER,  # force an entry
    "manual-exit-result.children": TRADER,  # sell all or part of a position
    "manual-protect-result.children": TRADER,  # move a position's stop, take-profit, trailing
    "manual-cancel-result.children": TRADER,  # cancel a resting order
    "manual-entry-dialog.is_open": TRADER,  # the force entry's confirm step
    "manual-exit-dialog.is_open": TRADER,  # the exit's confirm step
    "manual-protect-stop.value": TRADER,  # Breakeven: the stop field to the entry price
    "bot-control-result.children": TRADER,  # start, pause, stop a bot from its own page
    "positions-open.children": VIEWER,  # open positions
    "trades-rows.children": VIEWER,  # trades and each bot's performance
    "positions-modal.is_open": TRADER,  # the close dialog
    "positions-result.children": TRADER,  # close a position
    "pnl-chart.figure": VIEWER,  # see P&L
    "pnl-download.data": VIEWER,  # export CSV of what they can see
    "backtests-run-result.children": TRADER,  # runs a backtest in the engine (a command)
    "backtests-progress.children": VIEWER,  # see a run's progress
    "backtests-runs.children": VIEWER,  # see the runs
    "backtests-result.children": VIEWER,  # see a run's figures
    "backtests-compare.children": VIEWER,  # see runs side by side
    "backtests-params.children": VIEWER,  # the form's fields for a strategy
    "backtests-range-hint.children": VIEWER,  # what data a symbol has
    "backtests-trades-download.data": VIEWER,  # export CSV of a run's trades
    "risk-summary.children": VIEWER,  # see risk: daily P&L, exposure, limits
    "risk-limit-result.children": ADMIN,  # edit risk limits
    "market-timeframe.options": VIEWER,  # a symbol's stored timeframes
    "market-body.children": VIEWER,  # the market analysis of a symbol
    "models-detail.children": ADMIN,  # a model version's report
    "models-table.children": ADMIN,  # promote or roll back a model
    "models-train-result.children": ADMIN,  # queue a training from the desk
    "models-train-progress.children": ADMIN,  # a queued training's progress and report
    "logs-rows.children": ADMIN,  # the kept log lines
    "logs-tick.disabled": ADMIN,  # follow the log live
    "notifications-table.children": ADMIN,  # add, test, remove a channel
    "notifications-deliveries.children": ADMIN,  # the deliveries and their status
    "research-form-result.children": TRADER,  # start an optimisation (a command)
    "research-study.options": VIEWER,  # the studies
    "research-progress.children": VIEWER,  # a study's progress and best trials
    "research-plots.children": VIEWER,  # a study's importance and plots
    "research-walk-result.children": TRADER,  # start a walk-forward (a command)
    "research-action-result.children": TRADER,  # backtest a trial (a command)
    "research-bot-result.children": ADMIN,  # make a bot of a trial
    "research-wf.children": VIEWER,  # walk-forward runs
}

# page path -> least role allowed to open it (and to see it in the navbar)
PAGE_ROLES = {
    "/": VIEWER,
    "/account": VIEWER,
    "/users": ADMIN,
    "/exchange-accounts": ADMIN,
    "/audit": ADMIN,
    "/api-keys": VIEWER,
    "/bots": VIEWER,
    "/signals": VIEWER,
    "/positions": VIEWER,
    "/trades": VIEWER,
    "/orders": VIEWER,
    "/fills": VIEWER,
    "/pnl": VIEWER,
    "/backtests": VIEWER,
    "/risk": VIEWER,
    "/market": VIEWER,
    "/models": ADMIN,
    "/logs": ADMIN,
    "/notifications": ADMIN,
    "/strategies": VIEWER,
    "/research": VIEWER,
}

ROLES = [None, VIEWER, TRADER, ADMIN]  # None: no session


def role_id(role) -> str:
    return role.value if role else "anonymous"


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(module_database_url, tmp_path_factory.mktemp("roles"))
    clients = {None: requests.Session()}
    for role in (VIEWER, TRADER, ADMIN):
        clients[role] = running.signed_in(f"the-{role.value}", role)
    running.clients = clients
    running.registered = {
        first_output(dep["output"]): dep for dep in dependencies(clients[ADMIN], running.base)
    }
    yield running
    running.stop()


def last_audit_id(db) -> int:
    with db.reading() as session:
        return session.exec(select(func.max(AuditLog.id))).one() or 0


def refusals_since(db, audit_id: int) -> list[AuditLog]:
    query = select(AuditLog).where(col(AuditLog.id) > audit_id, AuditLog.action == "access.refused")
    with db.reading() as session:
        return list(session.exec(query))


def test_every_registered_callback_is_in_the_role_table(desk):
    registered = set(desk.registered)
    missing = sorted(registered - set(CALLBACK_ROLES))
    stale = sorted(set(CALLBACK_ROLES) - registered)
    assert not missing, f"classify these callbacks in CALLBACK_ROLES: {missing}"
    assert not stale, f"CALLBACK_ROLES names callbacks the desk no longer has: {stale}"


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize("callback", sorted(CALLBACK_ROLES))
def test_every_role_against_every_callback(desk, callback, role):
    """A raw POST, as any client can send for any callback, page seen or not."""
    needed = CALLBACK_ROLES[callback]
    dependency = desk.registered.get(callback)
    assert dependency is not None, f"{callback} is in CALLBACK_ROLES but not registered"
    before = last_audit_id(desk.db)
    # Inputs as on first render (nothing clicked): an allowed call must run and change nothing.
    values = {"_pages_location.pathname": "/", "_pages_location.search": ""}
    response = call_registered(desk.clients[role], desk.base, dependency, values, changed=[])
    if role is None:
        assert response.status_code == 401
        return
    allowed = needed != CLIENTSIDE and role.allows(needed)
    if allowed:
        assert response.status_code in (200, 204), response.text[:500]
        assert refusals_since(desk.db, before) == []
        return
    assert response.status_code == 403, response.text[:500]
    refused = refusals_since(desk.db, before)
    assert [(row.actor, row.outcome) for row in refused] == [(f"the-{role.value}", "refused")]
    assert callback.split(".")[0] in refused[0].target


SNAPSHOT = {
    table: f'SELECT * FROM "{table}"'
    for table in ALL_TABLES
    if table not in ("audit_log", "log_entry")
}
# refusals append to the audit log (and its rows to the stream's `audit` channel) and
# log a warning (kept in log_entry): the record of a refusal, not a change it made
SNAPSHOT["stream_event"] += " WHERE channel <> 'audit'"


def snapshot(db) -> dict[str, list]:
    """Every row of every table but the record of refusals."""
    with db.reading() as session:
        return {
            table: [tuple(row) for row in session.execute(text(query))]
            for table, query in SNAPSHOT.items()
        }


def hostile_values(dependency: dict) -> dict:
    """Every button clicked, every field filled as an attacker would to create an admin."""
    fields = {
        "users-new-name.value": "mallory",
        "users-new-role.value": "admin",
        "users-new-password.value": "mallory's long password",
        "users-target.value": "the-admin",
        "users-role.value": "viewer",
        "exchange-name.value": "stolen",
        "exchange-environment.value": "live",
        "exchange-api-key.value": "A" * 64,
        "exchange-api-secret.value": "B" * 64,
        "exchange-live-confirm.value": True,
        "exchange-target.value": 1,
        "exchange-assign-bot.value": 1,
        "exchange-assign-account.value": 1,
        "exchange-assign-confirm.value": "anything",
    }
    for item in dependency["inputs"]:
        if item["property"] == "n_clicks":
            fields[f"{item['id']}.n_clicks"] = 1
    return fields


@pytest.mark.parametrize("role", [VIEWER, TRADER], ids=role_id)
def test_refused_calls_change_nothing_and_are_audited(desk, role):
    forbidden = [
        dependency
        for callback, dependency in desk.registered.items()
        if CALLBACK_ROLES.get(callback) not in (None, CLIENTSIDE)
        and not role.allows(CALLBACK_ROLES[callback])
    ]
    assert forbidden, "no callback above this role to try"
    before_rows, before_audit = snapshot(desk.db), last_audit_id(desk.db)
    for dependency in forbidden:
        # One POST per button, as if each had been clicked.
        for item in dependency["inputs"]:
            changed = [f"{item['id']}.{item['property']}"]
            response = call_registered(
                desk.clients[role], desk.base, dependency, hostile_values(dependency), 1, changed
            )
            assert response.status_code == 403, (dependency["output"], response.text[:300])
    assert snapshot(desk.db) == before_rows
    with desk.db.reading() as session:
        assert session.exec(select(User).where(User.username == "mallory")).first() is None
    assert len(refusals_since(desk.db, before_audit)) == sum(
        len(dependency["inputs"]) for dependency in forbidden
    )


def render_page(desk, role, path: str) -> requests.Response:
    router = desk.registered["_pages_content.children"]
    values = {"_pages_location.pathname": path, "_pages_location.search": ""}
    return call_registered(desk.clients[role], desk.base, router, values)


def test_every_page_the_desk_links_is_in_the_page_table(desk):
    layout = desk.clients[ADMIN].get(f"{desk.base}/_dash-layout").json()
    linked = _hrefs(layout) - {"/logout"}
    assert linked == set(PAGE_ROLES), f"classify pages in PAGE_ROLES: {linked ^ set(PAGE_ROLES)}"


def _hrefs(node) -> set[str]:
    found = set()
    if isinstance(node, dict):
        href = node.get("href")
        if isinstance(href, str) and href.startswith("/"):
            found.add(href.split("?")[0])
        for value in node.values():
            found |= _hrefs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _hrefs(value)
    return found


@pytest.mark.parametrize("role", [VIEWER, TRADER, ADMIN], ids=role_id)
def test_each_role_sees_and_opens_exactly_its_pages(desk, role):
    layout = json.loads(desk.clients[role].get(f"{desk.base}/_dash-layout").text)
    listed = _hrefs(layout) - {"/logout"}
    allowed = {path for path, needed in PAGE_ROLES.items() if role.allows(needed)}
    assert listed == allowed
    assert ("shell-admin-menu" in json.dumps(layout)) == (role == ADMIN)
    for path, needed in PAGE_ROLES.items():
        before = last_audit_id(desk.db)
        response = render_page(desk, role, path)
        assert response.status_code == 200
        shown = "page-not-allowed" not in response.text
        assert shown == role.allows(needed), (path, role)
        assert "page-not-found" not in response.text  # the page exists: issue 14 item 24
        if not shown:
            assert "Not allowed" in response.text
            assert f"for the {needed.value} role" in response.text
        refused = refusals_since(desk.db, before)
        assert len(refused) == (0 if shown else 1)


# Flask routes behind the session wall: (method, path) -> least role (None: public).
ROUTE_ROLES = {
    ("GET", "/assets/botdesk.css"): None,
    ("GET", "/favicon.ico"): None,
    ("GET", "/"): VIEWER,  # the Dash shell; page content is decided per page (above)
    ("GET", "/users"): VIEWER,  # same shell; the users page itself renders only for admins
    ("GET", "/_dash-layout"): VIEWER,
    ("GET", "/_dash-dependencies"): VIEWER,
}


@pytest.mark.parametrize("role", ROLES, ids=role_id)
@pytest.mark.parametrize(("method", "path"), sorted(ROUTE_ROLES))
def test_every_role_against_every_route(desk, role, method, path):
    needed = ROUTE_ROLES[(method, path)]
    response = desk.clients[role].request(method, desk.base + path, allow_redirects=False)
    if needed is None or (role is not None and role.allows(needed)):
        assert response.status_code == 200
    elif role is None and path.startswith("/_dash"):
        assert response.status_code == 401
    elif role is None:
        assert response.status_code == 302
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert response.status_code == 403
