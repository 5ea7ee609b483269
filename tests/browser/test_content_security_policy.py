"""Every page of the desk works in real Chromium under its Content-Security-Policy: an
admin enrols two-factor (the QR code), then opens every page with data on it (grids,
the bot's candle chart, a finished backtest's equity chart, the authenticator set-up with
its QR code), and the browser reports no CSP violation and no script error anywhere. The
listener is proved able to fail: an inline script the policy does not allow is reported."""

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from botdesk.db import candles
from botdesk.db.models import BacktestRun
from botdesk.engine.backtest.runs import execute_stored_run
from tests.db.test_pnl import trade
from tests.desk import fresh_code
from tests.factories import PASSWORD, make_bot, make_user, signal_row
from tests.live_desk import desk  # noqa: F401  (the fixture)
from tests.pages.test_bot_detail import real_candles
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# Chromium fires `securitypolicyviolation` on the document for every blocked load, inline
# script, eval or style; collected before any of the page's own scripts run.
LISTEN = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} ` +
                    `(${e.sourceFile || location.pathname}:${e.lineNumber})`);
});
"""

# path, its heading, something drawn only once the page's scripts ran
PAGES = [
    ("/", "Overview", "#overview-health"),
    ("/bots", "Bots", "#bots-table tr"),
    ("/signals", "Signals", ".ag-row"),
    ("/positions", "Positions", ".ag-row"),
    ("/orders", "Orders", ".ag-row"),
    ("/fills", "Fills", ".ag-row"),
    ("/risk", "Risk", "h1"),
    ("/pnl", "P&L report", "#pnl-export"),
    ("/users", "Users", "#users-row-csp-admin"),
    ("/api-keys", "API keys", "#api-keys-create"),
    ("/exchange-accounts", "Exchange accounts", "h1"),
    ("/audit", "Audit log", "h1"),
]


class Violations:
    """What the browser reported: CSP violations (events and console) and script errors."""

    def __init__(self, page):
        self.page = page
        self.console: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def seen(self) -> list[str]:
        events = self.page.evaluate("window.__csp || []")
        return events + self.console + self.errors


def seed(db) -> int:
    """Rows for every grid, candles for the chart; returns the bot's id."""
    with db.writing() as session:
        candles.upsert(session=session, candles=real_candles(300))
    bot = make_bot(db, name="csp-bot", params={"fast": 5, "slow": 13, "stop_atr": 2})
    with db.writing() as session:
        session.add(signal_row(bot, 1))
    trade(db, bot, "buy", "0.01", "68000", "0.68", datetime(2024, 10, 28, 1, tzinfo=UTC))
    trade(db, bot, "sell", "0.01", "68500", "0.685", datetime(2024, 10, 28, 2, tzinfo=UTC))
    return bot.id


def enrol(page, base: str, username: str) -> None:
    """First sign-in of an admin without two-factor: the enrolment page and its QR code."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    qr = page.locator("#enrol-qr")
    qr.wait_for()
    assert page.evaluate("document.getElementById('enrol-qr').naturalWidth") > 0  # drawn
    secret = page.inner_text("#enrol-secret").replace(" ", "")
    page.fill("#code", fresh_code(secret))
    page.click("#enrol-submit")
    page.click("#backup-codes-continue")
    page.wait_for_url(f"{base}/")


def heading(page, text: str) -> None:
    page.locator("h1", has_text=text).first.wait_for()
    page.wait_for_load_state("networkidle")


def test_every_page_runs_under_the_policy_without_a_violation(desk, page):  # noqa: F811
    bot_id = seed(desk.db)
    make_user(desk.db, role="admin", username="csp-admin", totp=False)
    seen = Violations(page)
    response = page.goto(f"{desk.base}/login")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in re.search(r"script-src[^;]*", policy).group(0)
    assert "frame-ancestors 'none'" in policy and response.headers["x-frame-options"] == "DENY"

    enrol(page, desk.base, "csp-admin")
    for path, title, drawn in PAGES:
        page.goto(f"{desk.base}{path}")
        heading(page, title)
        page.locator(drawn).first.wait_for()
        assert seen.seen() == [], path

    page.goto(f"{desk.base}/bots/{bot_id}")
    page.locator("#bot-chart-graph .main-svg").first.wait_for()  # Plotly drew the candles
    assert seen.seen() == [], "bot detail"

    page.goto(f"{desk.base}/backtests")
    heading(page, "Backtests")
    page.click("#backtests-run")
    page.locator("#backtests-queued").wait_for()
    with desk.db.reading() as session:
        run_id = session.exec(select(func.max(BacktestRun.id))).one()
    execute_stored_run(desk.db, run_id)  # the engine's own code for backtest.run
    page.locator("#backtests-result .main-svg").first.wait_for(timeout=60_000)
    assert seen.seen() == [], "backtests"

    page.goto(f"{desk.base}/account")
    heading(page, "Your account")
    page.click("#account-2fa-start")
    wait_until(
        lambda: page.evaluate(
            "[...document.querySelectorAll('img')].some(i => i.src.startsWith('data:')"
            " && i.naturalWidth > 0)"
        ),
        message="the new authenticator's QR code",
    )
    assert seen.seen() == [], "account"

    # The listener can fail: an inline script the policy does not allow is reported.
    page.evaluate(
        "() => { const s = document.createElement('script');"
        " s.textContent = 'window.__ran = 1'; document.body.appendChild(s); }"
    )
    wait_until(lambda: seen.seen(), message="the violation reported")
    assert page.evaluate("window.__ran") is None
    assert any("script-src" in line for line in seen.seen())
