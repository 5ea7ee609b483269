"""In Chromium: what is typed into a desk form reaches the server as typed, and what is
out of bounds is refused with the limit in the message; nothing is saved. (A number input
with min/max/step sends nothing for -3 or 9.5; maxlength cuts a long name silently.) A
long bot name keeps the Bots table's buttons in view."""

import pytest
from sqlmodel import select

from botdesk.db.models import ApiKey, BacktestRun, Bot, Command
from tests.desk import login
from tests.factories import PASSWORD, make_bot, make_position, make_user
from tests.live_desk import desk  # noqa: F401  (the shared desk process fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def signed_in(page, running, role: str) -> None:
    user = make_user(running.db, role=role)
    client, response = login(running.base, user.username, PASSWORD)
    assert response.status_code == 302
    page.context.add_cookies(
        [{"name": c.name, "value": c.value, "url": running.base} for c in client.cookies]
    )


def param(page, form: str, name: str):
    """A strategy parameter's input (its id is a pattern-matching id, as JSON)."""
    return page.locator(f"""[id='{{"name":"{name}","type":"{form}-param"}}']""")


def rows(running, model, *where) -> list:
    with running.db.reading() as session:
        return list(session.exec(select(model).where(*where)))


def test_the_bot_form_refuses_what_is_out_of_bounds_as_typed(desk, page):  # noqa: F811
    signed_in(page, desk, "admin")
    page.goto(f"{desk.base}/bots")
    page.click("#bots-new")
    param(page, "bots", "fast").wait_for()
    page.fill("#bots-name", "typed")
    message = page.locator("#bots-form-message")
    for name, typed, refusal in (
        ("fast", "-3", "fast: Input should be greater than or equal to 2"),
        ("fast", "9.5", "fast: Input should be a valid integer"),
        ("slow", "99999999999999999999", "slow: Input should be less than or equal to 200"),
    ):
        param(page, "bots", "fast").fill("9")
        param(page, "bots", "slow").fill("21")
        param(page, "bots", name).fill(typed)
        page.click("#bots-save")
        page.locator("#bots-form-message", has_text=refusal).wait_for()
    param(page, "bots", "slow").fill("21")
    page.fill("#bots-capital", "1e30")
    page.click("#bots-save")
    page.locator("#bots-form-message", has_text="capital: must be between").wait_for()
    page.fill("#bots-capital", "1000")
    page.fill("#bots-name", "n" * 150)
    page.click("#bots-save")
    page.locator(
        "#bots-form-message", has_text="name: at most 100 characters (150 given)"
    ).wait_for()
    page.fill("#bots-name", "typed")
    page.fill("#bots-symbol", "DOGEUSDT")
    page.click("#bots-save")
    message.filter(has_text="the replay feed has no DOGEUSDT").wait_for()
    assert rows(desk, Bot, Bot.name.startswith("typed")) == []
    assert rows(desk, Bot, Bot.name.startswith("nnnn")) == []

    page.fill("#bots-symbol", "ETHUSDT")
    param(page, "bots", "fast").fill("7")
    page.click("#bots-save")
    page.locator("#bots-result", has_text="Created typed").wait_for()
    [bot] = rows(desk, Bot, Bot.name == "typed")
    assert (bot.params, bot.symbol, str(bot.capital)) == (
        '{"fast": 7, "slow": 21, "stop_atr": 2.0}',
        "ETHUSDT",
        "1000.00000000",
    )


def test_a_long_bot_name_keeps_the_rows_buttons_in_view(desk, page):  # noqa: F811
    long_name = "a-very-long-bot-name-" + "x" * 79
    bot = make_bot(desk.db, name=long_name)
    signed_in(page, desk, "admin")
    page.goto(f"{desk.base}/bots")
    link = page.locator(f"#bots-link-{bot.id}")
    link.wait_for()
    assert link.get_attribute("title") == long_name  # the whole name, on hover
    row = page.locator("#bots-table tr", has=link)
    table = page.locator("#bots-list").bounding_box()
    for button in ("Start", "Edit", "Delete"):
        box = row.get_by_role("button", name=button).bounding_box()
        assert box["x"] + box["width"] <= table["x"] + table["width"], button


def test_an_api_key_expiry_out_of_bounds_is_refused_not_made_never(desk, page):  # noqa: F811
    signed_in(page, desk, "viewer")
    page.goto(f"{desk.base}/api-keys")
    page.fill("#api-keys-name", "typed expiry")
    for typed, refusal in (
        ("-5", "expiry: must be between 1 and 3650 days, not -5"),
        ("1.5", "expiry: must be a whole number, not 1.5"),
        ("100000", "expiry: must be between 1 and 3650 days, not 100000"),
    ):
        page.fill("#api-keys-expires", typed)
        page.click("#api-keys-create")
        page.locator("#api-keys-error", has_text=refusal).wait_for()
    assert rows(desk, ApiKey, ApiKey.name == "typed expiry") == []
    page.fill("#api-keys-expires", "30")
    page.click("#api-keys-create")
    page.locator("#api-keys-new-key").wait_for()
    [key] = rows(desk, ApiKey, ApiKey.name == "typed expiry")
    assert (key.expires_at - key.created_at).days == 30


def test_the_backtest_form_refuses_a_fractional_period(desk, page):  # noqa: F811
    signed_in(page, desk, "trader")
    page.goto(f"{desk.base}/backtests")
    param(page, "backtests", "fast").wait_for()
    param(page, "backtests", "fast").fill("9.5")
    page.click("#backtests-run")
    page.locator(
        "#backtests-form-error", has_text="Not queued. fast: Input should be a valid integer"
    ).wait_for()
    page.fill("#backtests-fee", "abc")
    param(page, "backtests", "fast").fill("9")
    page.click("#backtests-run")
    page.locator("#backtests-form-error", has_text="fee: 'abc' is not a number").wait_for()
    assert rows(desk, BacktestRun) == []


def test_a_close_reason_over_500_characters_is_refused_not_cut(desk, page):  # noqa: F811
    position = make_position(desk.db, make_bot(desk.db, name="held-long"))
    signed_in(page, desk, "trader")
    page.goto(f"{desk.base}/positions")
    row = page.locator("#positions-open-table tr", has_text="held-long")
    row.get_by_role("button", name="Close").click()
    page.fill("#positions-reason", "r" * 600)
    page.click("#positions-confirm")
    page.locator(
        "#positions-close-error", has_text="reason: at most 500 characters (600 given)"
    ).wait_for()
    assert rows(desk, Command, Command.target == f"position:{position.id}") == []
