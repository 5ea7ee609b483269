"""The backtests and P&L pages in real Chromium: the strategy's fields in the form, a
refusal in words, a queued run's progress, the P&L export's file."""

import csv
from datetime import UTC, datetime

import pytest

from tests.db.test_pnl import trade
from tests.desk import fresh_code
from tests.factories import PASSWORD, TOTP_SECRETS, make_bot, make_user
from tests.live_desk import desk  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser


def sign_in(page, running, username: str, role: str) -> None:
    make_user(running.db, role=role, username=username)
    page.goto(f"{running.base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.fill("input[name=code]", fresh_code(TOTP_SECRETS[username]))
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.base}/")


def test_a_trader_queues_a_backtest_from_the_form(desk, page):  # noqa: F811
    sign_in(page, desk, "browser-trader", "trader")
    page.goto(f"{desk.base}/backtests")
    page.select_option("#backtests-strategy", "rsi_reversion")
    oversold = page.locator('input[id*="oversold"]')
    oversold.wait_for()
    assert page.locator('input[id*="overbought"]').input_value() == "70"

    oversold.fill("60")  # the model allows 1..49
    page.click("#backtests-run")
    error = page.locator("#backtests-form-error")
    error.wait_for()
    assert "Not queued. oversold:" in error.inner_text()
    assert "49" in error.inner_text()

    oversold.fill("25")
    page.click("#backtests-run")
    page.locator("#backtests-queued").wait_for()
    progress = page.locator("#backtests-progress")
    progress.get_by_text("queued: waiting for the engine").wait_for()  # no engine runs here
    assert "rsi_reversion" in page.locator("#backtests-runs").inner_text()


def test_the_pnl_export_downloads_the_rows_shown(desk, page, tmp_path):  # noqa: F811
    bot = make_bot(desk.db, name="browser-bot", symbol="ETHUSDT")
    trade(desk.db, bot, "buy", "1", "2000", "2", datetime(2024, 7, 1, 9, tzinfo=UTC))
    trade(desk.db, bot, "sell", "1", "2100", "2.1", datetime(2024, 7, 2, 9, tzinfo=UTC))
    sign_in(page, desk, "browser-viewer", "viewer")
    page.goto(f"{desk.base}/pnl")
    page.get_by_text("+95.90 USDT").wait_for()  # 2100 - 2000 - 2 - 2.1, in the total card
    with page.expect_download() as download:
        page.click("#pnl-export")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with saved.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["period_start_utc"], r["realized_pnl_usdt"]) for r in rows] == [
        ("2024-07-01", "-2.00000000"),
        ("2024-07-02", "97.90000000"),
    ]
