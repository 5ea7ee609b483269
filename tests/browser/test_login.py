"""In Chromium: the first admin signs in and watches the engine's heartbeat tick."""

import re

import pytest

from tests.desk import fresh_code
from tests.factories import PASSWORD, TOTP_SECRETS, make_user
from tests.processes import start_web, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_admin_signs_in_and_sees_the_heartbeat_ticking(db, botdesk_env, tmp_path, processes, page):
    make_user(db, username="admin", role="admin")
    processes.start(["engine"], botdesk_env)
    web, base = start_web(botdesk_env, tmp_path / "web.log")
    try:
        page.goto(f"{base}/")
        assert "/login" in page.url
        page.fill("#username", "admin")
        page.fill("#password", "wrong password!")
        page.click("#login-submit")
        assert page.get_by_text("Wrong username or password").is_visible()

        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("#login-submit")
        page.fill("#code", fresh_code(TOTP_SECRETS["admin"]))
        page.click("#code-submit")
        age = page.locator("#overview-heartbeat-age")
        beat_at = page.locator("#overview-heartbeat-at")
        age.wait_for()
        beats = set()

        def ticking():
            assert re.fullmatch(r"\d\.\d s ago", age.inner_text()), age.inner_text()
            beats.add(beat_at.inner_text())
            return len(beats) >= 3

        wait_until(ticking, timeout=15, interval=0.3, message="heartbeat advancing on the page")
        stamp = r"last beat \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC"
        assert all(re.fullmatch(stamp, beat) for beat in beats), beats
        assert page.locator("#overview-kill-switch").inner_text() == "Off"
        assert page.locator("#shell-engine-ok").is_visible()
    finally:
        web.stop()
