"""In Chromium, with a real engine replaying real klines: a trader signs in with two-factor,
sees the overview, starts a bot, watches its signals arrive, exports the filtered signals
as CSV (exactly those rows), then engages the kill switch and sees the banner."""

import csv
import re

import pytest
from sqlmodel import col, select

from botdesk.db.models import Bot, BotState, Signal
from botdesk.db.session import Database
from tests.conftest import make_env
from tests.desk import fresh_code
from tests.factories import PASSWORD, TOTP_SECRETS, make_bot, make_user
from tests.processes import start_web, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]
# How long the grid may take to answer a filter while the engine trades beside it: a
# liveness wait for a slow CI host (Playwright's 20 s default ran out once), not a speed goal.
SLOW_HOST_MS = 60_000


@pytest.fixture
def env(sqlite_url, tmp_path):
    """SQLite only: the page tests cover PostgreSQL."""
    return make_env(sqlite_url, tmp_path, BOTDESK_REPLAY_SPEED="600")


@pytest.fixture
def db(sqlite_url):
    database = Database(sqlite_url)
    yield database
    database.dispose()


def signals_of(db, bot_id: int) -> list[Signal]:
    with db.reading() as session:
        query = select(Signal).where(Signal.bot_id == bot_id).order_by(col(Signal.id).desc())
        return list(session.exec(query))


def status_of(db, bot_id: int) -> str:
    with db.reading() as session:
        return session.get(Bot, bot_id).status


def test_trader_starts_a_bot_sees_signals_exports_them_and_halts_everything(
    env, db, tmp_path, processes, page
):
    make_user(db, username="tina", role="trader")
    bot = make_bot(db, name="story-ema", params={"fast": 3, "slow": 8, "stop_atr": 0})
    make_bot(db, name="story-other", symbol="ETHUSDT")
    processes.start(["engine"], env)
    web, base = start_web(env, tmp_path / "web.log")
    try:
        page.goto(f"{base}/")
        page.fill("#username", "tina")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.fill("#code", fresh_code(TOTP_SECRETS["tina"]))
        page.click("#code-submit")
        page.locator("#overview-health").wait_for()
        summary = page.inner_text("#overview-summary").lower()
        assert "total equity" in summary and "no signal yet" in summary

        page.click("text=Bots")
        row = page.locator("#bots-table tr", has_text="story-ema")
        row.get_by_role("button", name="Start").click()
        page.locator("#bots-queued").wait_for()
        wait_until(
            lambda: status_of(db, bot.id) == BotState.RUNNING,
            timeout=30,
            message="the engine started the bot",
        )
        page.locator(f"#bots-status-{bot.id}", has_text="running").wait_for()

        wait_until(
            lambda: len(signals_of(db, bot.id)) >= 3,
            timeout=120,
            interval=0.5,
            message="story-ema signals",
        )
        page.click("text=Signals")
        page.locator(".ag-row", has_text="story-ema").first.wait_for(timeout=SLOW_HOST_MS)

        bot_filter = page.get_by_label("Bot Filter Input", exact=True)
        bot_filter.fill("story-ema")
        page.wait_for_function(  # the filtered block has arrived (its export link follows it)
            "() => [...document.querySelectorAll('a')].some(a => a.href.includes('story-ema'))",
            timeout=SLOW_HOST_MS,
        )
        top = page.locator(".ag-center-cols-container .ag-row[row-index='0']")
        first_top = top.get_attribute("row-id")
        # live: the grid reloads itself when new signals arrive (no click, no reload)
        wait_until(
            lambda: top.get_attribute("row-id") not in (None, first_top),
            timeout=60,
            interval=0.5,
            message="a newer signal at the top of the grid",
        )
        export = page.locator("#signals-page .desk-grid a", has_text="Export CSV")
        with page.expect_download() as download_info:
            export.click()
        download = download_info.value
        assert re.fullmatch(r"signal-\d{4}-\d\d-\d\dT\d{4}Z\.csv", download.suggested_filename)
        with open(download.path(), newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and {int(r["bot_id"]) for r in rows} == {bot.id}
        newest = int(rows[0]["id"])
        expected = [s.id for s in signals_of(db, bot.id) if s.id <= newest]
        assert [int(r["id"]) for r in rows] == expected  # exactly the filtered rows
        assert all(r["created_at"].endswith("+00:00") for r in rows)

        page.click("#kill-open")
        page.fill("#kill-reason", "replay looks wrong")
        page.get_by_text("Halt and flatten").click()
        page.click("#kill-engage")
        banner = page.locator("#shell-kill-switch-banner")
        banner.wait_for()
        text = banner.inner_text()
        assert "by tina" in text and "replay looks wrong" in text and "halt and flatten" in text
        wait_until(
            lambda: status_of(db, bot.id) == BotState.HALTED,
            timeout=30,
            message="the engine halted the bot",
        )
        page.click("text=Overview")
        page.locator("#shell-kill-switch-banner").wait_for()
        assert page.locator("#kill-open").count() == 0  # engaged: only an admin releases it
    finally:
        web.stop()
