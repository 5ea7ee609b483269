"""In Chromium: a viewer opens the Market page on real klines imported with `botdesk data
import`, sees the candle chart with its zones, the order-flow panel and the confluence
score with its components, and switches symbol and timeframe."""

import pytest

from botdesk.db.session import Database
from botdesk.engine.history import import_file
from tests.browser.conftest import sign_in
from tests.conftest import SHARED_DATA, make_env
from tests.factories import make_user
from tests.processes import start_web

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent"),
]


@pytest.fixture
def db(sqlite_url):
    database = Database(sqlite_url)
    yield database
    database.dispose()


def test_a_viewer_reads_the_market(db, tmp_path, page):
    import_file(db, SHARED_DATA / "BTCUSDT-5m.csv", symbol="BTCUSDT", timeframe="5m")
    import_file(db, SHARED_DATA / "ETHUSDT-1h.csv", symbol="ETHUSDT", timeframe="1h")
    make_user(db, username="vic", role="viewer")
    web, base = start_web(make_env(db.url, tmp_path), tmp_path / "web.log")
    try:
        sign_in(page, base, "vic")
        page.goto(f"{base}/market")
        page.locator("#market-chart .main-svg").first.wait_for()
        assert page.locator("#market-chart g.trace.boxes, #market-chart .candlestick").count()
        assert page.locator("#market-chart path[data-index]").count() > 0  # the zones
        page.locator("#market-flow-graph .main-svg").first.wait_for()
        assert page.locator("#market-flow-graph .bars .point").count() == 300  # delta bars
        score = page.locator("#market-score").inner_text()
        assert 0 <= int(score) <= 100
        for name in ("trend", "zones", "volume_profile", "order_flow"):
            assert page.locator(f"#market-component-{name}").is_visible()
        assert "previous day" in page.locator("#market-smc").inner_text()
        assert page.locator("nav").get_by_text("Market").count() == 1  # in the navbar

        page.select_option("#market-timeframe", "1h")
        page.locator("#market-chart .main-svg").first.wait_for()
        page.wait_for_function(
            "document.querySelectorAll('#market-flow-graph .bars .point').length === 300 "
            "&& document.querySelector('#market-smc') !== null"
        )
        page.select_option("#market-symbol", "ETHUSDT")
        page.locator("#market-no-flow").wait_for()
        assert "no taker-buy volume" in page.locator("#market-no-flow").inner_text()
        assert page.locator("#market-timeframe").input_value() == "1h"
        page.locator("#market-chart .main-svg").first.wait_for()
    finally:
        web.stop()
