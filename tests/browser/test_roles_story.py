"""In Chromium, the story of issue 5: a new admin enrols two-factor from the page, creates a
viewer and a trader; each sees exactly what their role allows; a viewer's hand-made
request to a callback above their role changes nothing and lands in the audit log."""

import re

import pyotp
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from botdesk.db import kill_switch
from botdesk.db.models import AuditLog, User
from botdesk.db.session import Database
from tests.conftest import make_env
from tests.desk import first_output, registered_body
from tests.processes import run_cli, start_web

pytestmark = [pytest.mark.browser, pytest.mark.integration]

EVERYONES_PAGES = [  # in the navbar for every role
    "Overview",
    "Bots",
    "Market",
    "Signals",
    "Positions",
    "Trades",
    "Orders",
    "Fills",
    "Risk",
    "P&L",
    "Backtests",
    "Strategies",
    "Research",
    "API keys",
]
ADMIN_PAGES = [  # in the Admin menu, for admins
    "Models",
    "Users",
    "Exchange accounts",
    "Audit log",
    "Notifications",
    "Logs",
]
# Callbacks a viewer must not run, hand-made with the values an attacker would send.
HAND_MADE = {
    "kill-result.children": {
        "kill-engage.n_clicks": 1,
        "kill-reason.value": "mallory wants a halt",
        "kill-mode.value": "flatten",
    },
    "users-table.children": {
        "users-create.n_clicks": 1,
        "users-new-name.value": "mallory",
        "users-new-role.value": "admin",
        "users-new-password.value": "mallory's long password",
    },
    "exchange-table.children": {
        "exchange-create.n_clicks": 1,
        "exchange-name.value": "mallory-live",
        "exchange-environment.value": "live",
        "exchange-api-key.value": "A" * 64,
        "exchange-api-secret.value": "B" * 64,
        "exchange-live-confirm.value": True,
    },
}


def sign_in_and_enrol(page, base: str, username: str, password: str) -> str:
    """Sign in as a first-time user: read the key off the enrolment page, as a phone would
    from the QR code, and type the code it makes. Returns the key."""
    page.goto(f"{base}/")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    assert page.locator("#enrol-qr").is_visible()
    secret = page.inner_text("#enrol-secret").replace(" ", "")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#enrol-submit")
    assert page.locator("#backup-codes li").count() == 10
    page.click("#backup-codes-continue")
    page.locator("#overview-health").wait_for()
    return secret


def navbar_links(page) -> list[str]:
    return [text.strip() for text in page.locator(".navbar .me-auto .nav-link").all_inner_texts()]


def add_user(page, username: str, role: str, password: str) -> None:
    page.fill("#users-new-name", username)
    page.select_option("#users-new-role", role)
    page.fill("#users-new-password", password)
    page.click("#users-create")
    page.get_by_text(f"Added {username} ({role}).").wait_for()


@pytest.fixture
def env(sqlite_url, tmp_path):
    """SQLite only: the role table test runs every role against both databases."""
    return make_env(sqlite_url, tmp_path)


def test_admin_enrols_creates_a_viewer_and_a_trader_and_roles_hold(env, tmp_path, chromium):
    init = run_cli(["init", "--no-demo"], env)
    assert init.returncode == 0, init.stderr
    password = re.search(r"password: (\S+)", init.stdout).group(1)
    printed = re.search(r"secret=([A-Z2-7]+)", init.stdout).group(1)
    web, base = start_web(env, tmp_path / "web.log")
    db = Database(env["BOTDESK_DATABASE_URL"])
    contexts = []

    def browser_tab():
        context = chromium.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    try:
        admin = browser_tab()
        assert sign_in_and_enrol(admin, base, "admin", password) == printed
        assert navbar_links(admin) == [*EVERYONES_PAGES, "Admin"]
        admin.click("#shell-admin-menu")
        menu = [item.strip() for item in admin.locator(".dropdown-menu.show a").all_inner_texts()]
        assert menu == ADMIN_PAGES
        admin.click("text=Users")
        add_user(admin, "vera", "viewer", "vera's first password")
        add_user(admin, "tom", "trader", "tom's first password")
        assert admin.locator("#users-row-tom").inner_text().split()[:2] == ["tom", "trader"]

        tabs = {}
        for username in ("vera", "tom"):
            tab = tabs[username] = browser_tab()
            sign_in_and_enrol(tab, base, username, f"{username}'s first password")
            assert navbar_links(tab) == EVERYONES_PAGES
            assert tab.locator("#shell-admin-menu").count() == 0
            for path in ("/users", "/exchange-accounts", "/audit"):
                tab.goto(base + path)
                tab.locator("#page-not-allowed", has_text="Not allowed").wait_for()
                assert tab.locator("#users-table, #audit-rows, #exchange-table").count() == 0
            tab.goto(f"{base}/account")
            tab.get_by_text("Signed in as " + username).wait_for()
        viewer = tabs["vera"]

        # The viewer, by hand, from her signed-in browser: POST callbacks above her role.
        registered = {
            first_output(dep["output"]): dep
            for dep in viewer.evaluate("() => fetch('/_dash-dependencies').then(r => r.json())")
        }
        assert set(HAND_MADE) <= set(registered)
        for callback, values in HAND_MADE.items():
            trigger = next(key for key in values if key.endswith(".n_clicks"))
            body = registered_body(registered[callback], values, changed=[trigger])
            status = viewer.evaluate(
                """body => fetch('/_dash-update-component', {method: 'POST',
                     headers: {'Content-Type': 'application/json'},
                     body: JSON.stringify(body)}).then(r => r.status)""",
                body,
            )
            assert status == 403, callback
        with db.reading() as session:
            assert session.exec(select(User).where(User.username == "mallory")).first() is None
            refusals = session.exec(
                select(AuditLog).where(AuditLog.actor == "vera", AuditLog.outcome == "refused")
            ).all()
        targets = " ".join(row.target for row in refusals)
        assert "users-table" in targets and "exchange-table" in targets
        assert "kill-result" in targets
        with db.reading() as session:
            assert not kill_switch.status(session=session).engaged

        # The admin sees the refusals on the audit page, filtered to vera.
        admin.goto(f"{base}/audit")
        admin.fill("#audit-actor", "vera")
        admin.select_option("#audit-outcome", "refused")
        export = admin.locator("#audit-export")
        expect(export).to_have_attribute("href", "/export/audit_log.csv?actor=vera&outcome=refused")
        expect(admin.locator("#audit-rows")).to_contain_text("access.refused")
        assert "users-table" in admin.inner_text("#audit-rows")
        assert "login.ok" not in admin.inner_text("#audit-rows")
    finally:
        for context in contexts:
            context.close()
        web.stop()
        db.dispose()
