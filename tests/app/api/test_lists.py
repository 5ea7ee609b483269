"""Lists through a real desk: cursor pages that never overlap or skip, filters, CSV, and
bad input answered with a 4xx in the documented shape (never a 5xx, never HTML)."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import requests

from botdesk.db.types import utcnow
from tests.factories import make_api_key, make_bot, make_user, signal_row

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def data(desk):
    db = desk.db
    key = make_api_key(db, make_user(db, role="viewer"), "read")
    first, second = make_bot(db, symbol="BTCUSDT"), make_bot(db, symbol="ETHUSDT")
    start = utcnow() - timedelta(hours=1)
    with db.writing() as session:  # the two bots' signals interleaved, as bots trade
        for number in range(25):
            session.add(
                signal_row(
                    first,
                    number,
                    side="buy" if number % 2 == 0 else "sell",
                    price=Decimal("60000.12345678") + number,
                    reason='=HYPERLINK("http://evil")' if number == 0 else None,
                    created_at=start + timedelta(minutes=number),
                )
            )
            if number < 5:
                session.add(
                    signal_row(
                        second,
                        number,
                        symbol="ETHUSDT",
                        side="buy",
                        reason="fast,\rcross" if number == 0 else None,
                        created_at=start.replace(microsecond=250000) + timedelta(minutes=number),
                    )
                )
                session.flush()  # ids in this order
    return key, first, second, start


def _pages(desk, key, path):
    seen, cursor = [], None
    while True:
        url = path + (f"&cursor={cursor}" if cursor else "")
        answer = desk.call("GET", url, key)
        assert answer.status_code == 200, answer.text
        seen.append([item["id"] for item in answer.json()["items"]])
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return seen


def test_cursor_pages_cover_every_row_once_newest_first(desk, data):
    key, first, _, _ = data
    pages = _pages(desk, key, f"/api/v1/signals?bot_id={first.id}&limit=10")
    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [i for page in pages for i in page]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 25


def test_the_highest_cursor_the_description_allows_starts_at_the_newest(desk, data):
    """cursor=2147483648 (ids are 32-bit: MAX_ID + 1) answered 500 on PostgreSQL."""
    key, first, _, _ = data
    top = desk.call("GET", f"/api/v1/signals?bot_id={first.id}&cursor=2147483648", key)
    assert top.status_code == 200, top.text
    assert top.json() == desk.call("GET", f"/api/v1/signals?bot_id={first.id}", key).json()
    assert len(top.json()["items"]) == 25


def test_times_past_the_calendar_are_as_far_as_it_goes(desk, data):
    key, first, _, _ = data
    late = requests.utils.quote("9999-12-31T23:59:59-14:00")
    early = requests.utils.quote("0001-01-01T00:00:00+14:00")
    for query in (f"until={late}", f"since={early}"):
        answer = desk.call("GET", f"/api/v1/signals?bot_id={first.id}&limit=1000&{query}", key)
        assert answer.status_code == 200 and len(answer.json()["items"]) == 25, answer.text
    answer = desk.call("GET", f"/api/v1/signals?bot_id={first.id}&since={late}", key)
    assert answer.json()["items"] == []


def test_filters_narrow_the_list(desk, data):
    key, first, second, start = data

    def ids(query):
        answer = desk.call("GET", f"/api/v1/signals?limit=1000&{query}", key)
        assert answer.status_code == 200, answer.text
        return answer.json()["items"]

    assert {s["bot_id"] for s in ids(f"bot_id={second.id}")} == {second.id}
    sells = ids(f"bot_id={first.id}&side=sell")
    assert len(sells) == 12 and {s["side"] for s in sells} == {"sell"}
    since = (start + timedelta(minutes=20)).isoformat()
    until = (start + timedelta(minutes=23)).isoformat()
    window = ids(
        f"bot_id={first.id}&since={requests.utils.quote(since)}&until={requests.utils.quote(until)}"
    )
    assert [s["dedupe_key"] for s in window] == ["c:22", "c:21", "c:20"]
    assert ids("symbol=XRPUSDT") == []
    newest = ids(f"bot_id={first.id}")[0]
    assert newest["price"] == "60024.12345678"  # exact, 8 decimals, a string


def test_csv_answers_the_same_page_with_the_cursor_in_a_header(desk, data):
    key, first, _, _ = data
    answer = desk.call("GET", f"/api/v1/signals?bot_id={first.id}&limit=24&format=csv", key)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == 24 and rows[0]["price"] == "60024.12345678"
    rest = desk.call(
        "GET",
        f"/api/v1/signals?bot_id={first.id}&limit=24&format=csv&cursor={answer.headers['X-Next-Cursor']}",
        key,
    )
    [last] = list(csv.DictReader(io.StringIO(rest.text)))
    assert last["dedupe_key"] == "c:0"
    assert last["reason"].startswith("'=HYPERLINK")  # never run as a spreadsheet formula
    assert "X-Next-Cursor" not in rest.headers


def test_csv_pages_are_written_as_the_desk_exports_them(desk, data):
    """One CSV format: the API's pages and /export/<table>.csv (times without trailing
    zeros, a lone CR quoted), and only the filtered rows, though other bots' signals lie
    between the page's ids."""
    key, _, second, start = data
    answer = desk.call("GET", f"/api/v1/signals?bot_id={second.id}&limit=3&format=csv", key)
    assert answer.headers["Content-Disposition"].startswith('attachment; filename="signal-')
    rows = list(csv.DictReader(io.StringIO(answer.text, newline="")))
    assert [row["dedupe_key"] for row in rows] == ["c:4", "c:3", "c:2"]
    moment = start.replace(microsecond=250000) + timedelta(minutes=4)
    assert rows[0]["created_at"] == moment.strftime("%Y-%m-%dT%H:%M:%S.25+00:00")
    # the bot by name beside its id, no epoch milliseconds (issue 14 item 26)
    assert rows[0]["bot"] == second.name and "candle_open_ms" not in rows[0]
    rest = desk.call(
        "GET",
        f"/api/v1/signals?bot_id={second.id}&format=csv&cursor={answer.headers['X-Next-Cursor']}",
        key,
    )
    assert '"fast,\rcross"' in rest.text
    last = list(csv.DictReader(io.StringIO(rest.text, newline="")))
    assert [row["dedupe_key"] for row in last] == ["c:1", "c:0"]
    assert last[1]["reason"] == "fast,\rcross" and last[0]["reason"] == ""
    empty = desk.call("GET", "/api/v1/signals?symbol=XRPUSDT&format=csv", key)
    assert empty.status_code == 200 and empty.text.count("\n") == 1  # the header alone


JSON = {"Content-Type": "application/json"}
ENGAGE = '{"reason": "read as JSON whatever it was sent as"}'


@pytest.mark.parametrize(
    ("method", "path", "options", "status", "code"),
    [
        ("GET", "/api/v1/signals?limit=0", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?until=0.5", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/orders?since=1700000000", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/fills?until=2024-01-01T00:00Z", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/commands?until=2024-01-01%2000:00:00Z", {}, 400, "invalid_parameter"),
        ("POST", "/api/v1/kill-switch", {"data": ENGAGE}, 415, "unsupported_media_type"),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": ENGAGE, "headers": {"Content-Type": "text/plain"}},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": {"reason": "a form"}},
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": ENGAGE, "headers": {"Content-Type": "application/x-json"}},
            415,
            "unsupported_media_type",
        ),
        ("GET", "/api/v1/signals?limit=abc", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?colour=red", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?side=buy&side=sell", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?since=2024-01-01T00:00:00", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?bot_id=99999999999999999999", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?symbol=%00", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?cursor=not-a-cursor", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/signals?cursor=0", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/health?x=1", {}, 400, "invalid_parameter"),
        ("GET", "/api/v1/bots/99999999999999999999", {}, 404, "not_found"),
        ("GET", "/api/v1/bots/-1", {}, 404, "not_found"),
        ("GET", "/api/v1/no-such-thing", {}, 404, "not_found"),
        ("DELETE", "/api/v1/bots", {}, 405, "method_not_allowed"),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": "{not json", "headers": JSON},
            400,
            "invalid_json",
        ),
        ("POST", "/api/v1/kill-switch", {"json": ["a list"]}, 400, "invalid_body"),
        ("POST", "/api/v1/kill-switch", {"json": {}}, 400, "invalid_body"),
        ("POST", "/api/v1/kill-switch", {"json": {"reason": 5}}, 400, "invalid_body"),
        ("POST", "/api/v1/kill-switch", {"json": {"reason": "  "}}, 400, "invalid_body"),
        ("POST", "/api/v1/kill-switch", {"json": {"reason": "a\x00b"}}, 400, "invalid_body"),
        (
            "POST",
            "/api/v1/kill-switch",
            {"json": {"reason": "x", "flatten": "yes"}},
            400,
            "invalid_body",
        ),
        (
            "POST",
            "/api/v1/kill-switch",
            {"json": {"reason": "x", "colour": 1}},
            400,
            "invalid_body",
        ),
        ("POST", "/api/v1/kill-switch", {"data": "[" * 100_000}, 413, "payload_too_large"),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": "[" * 60_000, "headers": JSON},
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": b"\xff\xfe\x00", "headers": JSON},
            400,
            "invalid_json",
        ),
        (
            "POST",
            "/api/v1/kill-switch",
            {"data": '{"reason": NaN}', "headers": JSON},
            400,
            "invalid_json",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    desk, data, method, path, options, status, code
):
    trade_key = make_api_key(desk.db, make_user(desk.db, role="trader"), "trade")
    answer = desk.call(method, path, trade_key, **options)
    assert answer.status_code == status, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert desk.call("GET", "/api/v1/kill-switch", trade_key).json()["engaged"] is False


def test_a_chunked_body_without_a_length_is_bounded_too(desk, data):
    trade_key = make_api_key(desk.db, make_user(desk.db, role="trader"), "trade")

    def chunks():
        for _ in range(100):
            yield b'{"reason": "' + b"x" * 1000

    answer = desk.call("POST", "/api/v1/kill-switch", trade_key, data=chunks())
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["code"] == "payload_too_large"
