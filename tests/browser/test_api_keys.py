"""In Chromium: a trader creates a trade-scoped key on the API keys page, a script engages
the kill switch with it (the desk shows it), and the trader revokes the key."""

import re

import pytest
import requests

from tests.desk import login
from tests.factories import PASSWORD, make_user
from tests.live_desk import desk  # noqa: F401  (the shared desk process fixture)
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_trader_creates_uses_and_revokes_a_key(desk, page):  # noqa: F811
    trader = make_user(desk.db, role="trader")
    client, response = login(desk.base, trader.username, PASSWORD)
    assert response.status_code == 302
    page.context.add_cookies(
        [{"name": c.name, "value": c.value, "url": desk.base} for c in client.cookies]
    )
    page.goto(f"{desk.base}/api-keys")
    page.locator("#api-keys-empty").wait_for()

    page.fill("#api-keys-name", "incident script")
    page.click("#api-keys-scope")
    assert page.get_by_text("admin: also release the kill switch").count() == 0  # not offered
    page.get_by_text("trade: also start/stop bots").click()
    page.click("#api-keys-create")
    shown = page.locator("#api-keys-new-key")
    shown.wait_for()
    key = shown.inner_text()
    assert re.fullmatch(r"bd_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
    row = page.locator(f"#api-keys-row-{key[:11]}")
    assert "incident script" in row.inner_text() and "trade" in row.inner_text()

    engaged = requests.post(
        f"{desk.base}/api/v1/kill-switch",
        headers={"X-API-Key": key},
        json={"reason": "script saw a flash crash"},
        timeout=30,
    )
    assert engaged.status_code == 202, engaged.text
    banner = page.locator("#shell-kill-switch-banner")
    banner.wait_for()
    assert f"by api:{key[:11]}" in banner.inner_text()
    assert "script saw a flash crash" in banner.inner_text()

    page.reload()
    assert page.locator("#api-keys-new-key").count() == 0  # shown once, never again
    row = page.locator(f"#api-keys-row-{key[:11]}")
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", row.locator("td").nth(7).inner_text()
    )
    row.get_by_role("button", name="Revoke").click()
    wait_until(lambda: "revoked" in page.locator(f"#api-keys-row-{key[:11]}").inner_text())
    refused = requests.get(f"{desk.base}/api/v1/bots", headers={"X-API-Key": key}, timeout=30)
    assert refused.status_code == 401
