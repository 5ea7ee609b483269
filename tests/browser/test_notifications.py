"""In Chromium, the issue's "done when": an admin adds a Telegram channel on the
Notifications page (the URL field never shows the token back), presses Test, and the
message reaches a server speaking Telegram's Bot API; the delivery is listed as sent."""

import pytest

from tests.desk import RunningDesk, login
from tests.factories import PASSWORD, make_user
from tests.processes import wait_until
from tests.receivers import TelegramServer

pytestmark = [pytest.mark.browser, pytest.mark.integration]
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_an_admin_adds_a_telegram_channel_and_tests_it(sqlite_url, tmp_path, page):
    telegram = TelegramServer().start()
    desk = RunningDesk(
        sqlite_url, tmp_path / "desk", BOTDESK_TELEGRAM_API_URL=f"http://{telegram.url}"
    )
    try:
        admin = make_user(desk.db, role="admin", username="ops-admin")
        client, response = login(desk.base, admin.username, PASSWORD)
        assert response.status_code == 302
        page.context.add_cookies(
            [{"name": c.name, "value": c.value, "url": desk.base} for c in client.cookies]
        )
        page.goto(f"{desk.base}/notifications")
        page.fill("#notifications-name", "ops-telegram")
        page.fill("#notifications-url", f"tgram://{TOKEN}/998877")
        page.get_by_label("kill_switch.engaged").check()
        page.click("#notifications-add")
        page.get_by_text("Added ops-telegram: tgram://12…/99…").wait_for()
        assert page.input_value("#notifications-url") == ""
        assert TOKEN not in page.content()

        page.select_option("#notifications-target", "ops-telegram")
        page.click("#notifications-test")
        page.get_by_text("Test message delivered to ops-telegram").wait_for()
        (sent,) = telegram.sent_messages()
        assert str(sent["chat_id"]) == "998877"
        assert "botdesk test message for ops-telegram" in sent["text"]
        wait_until(
            lambda: "sent" in page.locator("#notifications-deliveries").inner_text(),
            message="the delivery listed as sent",
        )
    finally:
        desk.stop()
        telegram.stop()
