"""In Chromium: a viewer clicks to Trades in the navbar and sees the round trip with its
partial exit below it and the operator's close reason, the bot's figures, narrows the list
to one symbol, and downloads the chosen trades as CSV (exactly those)."""

import csv

import pytest

from tests.browser.test_typed_inputs import signed_in
from tests.live_desk import desk  # noqa: F401  (the shared desk process fixture)
from tests.trips import book_trips

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_viewer_clicks_to_trades_and_sees_a_round_trip(desk, page, tmp_path):  # noqa: F811
    trips = book_trips(desk.db, prefix="br-")
    signed_in(page, desk, "viewer")
    page.goto(f"{desk.base}/")
    page.locator("#overview-summary").wait_for()
    page.get_by_role("link", name="Trades", exact=True).click()
    page.wait_for_url(f"{desk.base}/trades")
    first = page.locator(f"#trades-row-{trips.first_position_id}")
    first.wait_for()
    cells = first.locator("td").all_inner_texts()
    assert cells[0] == "br-alpha" and cells[1] == "BTCUSDT"
    assert cells[2] == "2024-04-01 10:00:00" and cells[4] == "2024-04-01 13:30:00"
    assert cells[3] == "60,000.00" and cells[5] == "59,800.05" and cells[6] == "0.5"
    assert cells[7] == "-159.88" and cells[8] == "-0.53 %" and cells[9] == "59.90"
    assert cells[10] == "3h 30m" and cells[11] == "ema 9 crossed above 21 (0.80)"
    assert cells[12] == "closed by an operator: news: exchange halt"
    partial = first.locator("xpath=following-sibling::tr[1]").locator("td").all_inner_texts()
    assert partial[0].strip() == "\u21b3 partial exit 1" and partial[7] == "+187.82"
    assert partial[12] == "strategy exit"
    figures = page.locator("#trades-performance-table tbody tr", has_text="br-alpha")
    assert figures.locator("td").all_inner_texts()[1:3] == ["2", "50.0 %"]

    page.fill("#trades-symbol", "ETHUSDT")
    page.locator("#trades-table tbody tr", has_text="br-alpha").first.wait_for(state="detached")
    with page.expect_download() as download:
        page.click("#trades-export")
    path = tmp_path / "trades.csv"
    download.value.save_as(path)
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["symbol"] for row in rows} == {"ETHUSDT"}
    assert rows[0]["pnl"] == "140.09925000"
