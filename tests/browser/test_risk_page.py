"""In Chromium, with a real engine: a bot may hold no position, the engine
refuses them, and the admin's Risk page lists each refusal with its reason; the admin then
sets a global daily loss limit from the page and sees it in the limits table."""

import pytest
from sqlmodel import select

from botdesk.db import risk_limits
from botdesk.db.models import RiskEvent
from botdesk.db.session import Database
from tests.browser.conftest import sign_in
from tests.conftest import make_env
from tests.factories import make_bot, make_user
from tests.processes import start_web, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture
def db(sqlite_url):
    database = Database(sqlite_url)
    yield database
    database.dispose()


def refusals(db) -> list[RiskEvent]:
    with db.reading() as session:
        return list(session.exec(select(RiskEvent).where(RiskEvent.kind == "refused")))


def test_the_risk_page_lists_refusals_and_an_admin_sets_a_limit(db, tmp_path, processes, page):
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600")
    make_user(db, username="rita", role="admin")
    bot = make_bot(db, name="capped", params={"fast": 2, "slow": 3, "stop_atr": 0}, state="running")
    with db.writing() as session:
        risk_limits.set_limit(
            session=session, kind="max_open_positions", value="0", bot_id=bot.id, by="rita"
        )
    processes.start(["engine"], env)
    web, base = start_web(env, tmp_path / "web.log")
    try:
        wait_until(lambda: refusals(db), timeout=120, interval=0.5, message="a refused entry")
        reason = refusals(db)[0].message
        assert reason == "the bot already holds 0 open position(s); the limit is 0"

        sign_in(page, base, "rita")
        page.goto(f"{base}/risk")
        page.locator(".ag-cell", has_text=reason).first.wait_for()
        page.locator(".ag-cell", has_text="capped").first.wait_for()

        page.select_option("#risk-kind", "daily_loss_limit")
        page.fill("#risk-value", "500")
        page.click("#risk-save")
        page.locator("#risk-limit-result", has_text="daily_loss_limit = 500 USDT set").wait_for()
        page.locator("#risk-limits-rows", has_text="Daily loss limit").wait_for()

        page.fill("#risk-value", "-5")
        page.click("#risk-save")
        page.locator("#risk-limit-result", has_text="must be between 1 and").wait_for()
    finally:
        web.stop()
