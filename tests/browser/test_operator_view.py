"""What the operator sees, in real Chromium (issue 14 items 19, 20, 22, 23): a refused
action is said on the page; at 1440x900 the grids' filter boxes have room and a part of a
bot's name finds it, a closed position's exit, realized P&L and fees are in view, and the
overview fits one screen."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from botdesk.db import balances
from botdesk.db.models import EquitySnapshot, RiskEvent, User
from tests.browser.test_typed_inputs import signed_in
from tests.db.test_balances import exchange_account
from tests.db.test_pnl import trade
from tests.desk import login
from tests.factories import PASSWORD, make_bot, make_position, make_user, signal_row
from tests.live_desk import desk  # noqa: F401  (the shared desk process fixture)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

WIDTH, HEIGHT = 1440, 900
START = datetime(2024, 10, 28, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def busy_desk(desk):  # noqa: F811
    """A desk with what makes pages long: bots with closed and open positions, signals, a
    week of equity, risk events with long messages, and two accounts in the wallet."""
    fast = make_bot(desk.db, name="btc-fast")
    slow = make_bot(desk.db, name="eth-slow", symbol="ETHUSDT")
    trade(desk.db, fast, "buy", "0.5", "60000", "30", START)
    trade(desk.db, fast, "sell", "0.5", "61000", "30.5", START + timedelta(hours=2))
    for number in range(6):
        make_position(desk.db, make_bot(desk.db, name=f"holder-{number}"))
    account = exchange_account(desk.db, "binance-testnet")  # the wallet card's second account
    make_bot(desk.db, name="live-btc", broker="binance", exchange_account_id=account.id)
    with desk.db.writing() as session:
        listed = {"USDT": (Decimal("9000.5"), Decimal(0)), "BTC": (Decimal("0.001"), Decimal(0))}
        balances.record(session=session, exchange_account_id=account.id, balances=listed, at=START)
    with desk.db.writing() as session:
        for number in range(12):
            at = START + timedelta(minutes=number)
            ms = int(at.timestamp() * 1000)
            session.add(signal_row(fast if number % 2 else slow, number, candle_open_ms=ms))
            session.add(
                RiskEvent(
                    bot_id=slow.id,
                    kind="refused",
                    rule="max_position_notional",
                    message="order refused: the position would be worth 12,345.67 USDT, above "
                    "the bot's limit of 10,000.00 USDT (max_position_notional); nothing sent",
                )
            )
        for hour in range(7 * 24):
            at = START + timedelta(hours=hour)
            session.add(
                EquitySnapshot(
                    bot_id=fast.id,
                    at=at,
                    candle_open_ms=int(at.timestamp() * 1000),
                    equity=Decimal(30000 + (hour % 17) * 10),
                    cash=Decimal(30000),
                )
            )
    return desk


def test_the_overview_fits_one_screen(busy_desk, page):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    signed_in(page, busy_desk, "viewer")
    page.goto(f"{busy_desk.base}/")
    page.locator("#overview-signals").wait_for()
    page.locator("#overview-summary .js-plotly-plot").wait_for()
    page.get_by_text("max_position_notional", exact=False).first.wait_for()
    page.locator("#overview-wallet-binance-testnet").wait_for()  # the wallet is on the screen
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= HEIGHT, f"the overview is {height} px high at {WIDTH}x{HEIGHT}"
    # each risk event's time on one line: a row as high as a line of text
    rows = page.locator("#overview-events tbody tr")
    assert rows.count() == 5
    for index in range(rows.count()):
        assert rows.nth(index).bounding_box()["height"] < 40


def test_a_closed_positions_exit_realized_and_fees_are_in_view(busy_desk, page):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    signed_in(page, busy_desk, "viewer")
    page.goto(f"{busy_desk.base}/positions")
    row = page.locator(".ag-row", has_text="btc-fast")
    row.first.wait_for()
    for column, shown in (
        ("exit_price", "61,000.00"),
        ("realized_pnl", "439.50"),
        ("fees", "60.5000"),
        ("closed_qty", "0.5"),
        ("held", "2h 00m"),
    ):
        cell = row.first.locator(f'[col-id="{column}"]')
        assert cell.inner_text() == shown, column
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= WIDTH, column
        header = page.locator(f'.ag-header-cell[col-id="{column}"]').first.bounding_box()
        assert header is not None and header["x"] + header["width"] <= WIDTH, column


def test_filter_boxes_have_room_and_a_part_of_a_name_finds_the_bot(busy_desk, page):
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    signed_in(page, busy_desk, "viewer")
    page.goto(f"{busy_desk.base}/fills")
    page.locator(".ag-row", has_text="btc-fast").first.wait_for()
    for header in ("Side", "Symbol"):
        box = page.get_by_label(f"{header} Filter Input").bounding_box()
        assert box is not None and box["width"] >= 60, (header, box)
    page.get_by_label("Bot Filter Input").fill("BTC")
    page.locator(".ag-row", has_text="eth-slow").first.wait_for(state="detached")
    shown = page.locator(".ag-row [col-id='bot_id']").all_inner_texts()
    assert shown and set(shown) == {"btc-fast"}


def test_an_action_the_server_refuses_is_said_on_the_page(busy_desk, page):
    """A trader demoted to viewer while the Bots page is open clicks Start: the server
    refuses (403) and the page says so, where it used to do nothing."""
    bot = make_bot(busy_desk.db, name="demoted-start")
    user = make_user(busy_desk.db, role="trader")
    client, _ = login(busy_desk.base, user.username, PASSWORD)
    page.context.add_cookies(
        [{"name": c.name, "value": c.value, "url": busy_desk.base} for c in client.cookies]
    )
    page.goto(f"{busy_desk.base}/bots")
    row = page.locator("#bots-table tr", has=page.locator(f"#bots-link-{bot.id}"))
    start = row.get_by_role("button", name="Start")
    start.wait_for()
    with busy_desk.db.writing() as session:
        session.get(User, user.id).role = "viewer"
    start.click()
    refusal = page.locator("#desk-refusal")
    refusal.wait_for()
    assert refusal.inner_text() == "Not allowed: this action needs the trader role."
