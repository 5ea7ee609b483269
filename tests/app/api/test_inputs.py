"""What the API reads from a request, through a real desk: bodies only as declared JSON
(415 otherwise), a control's optional body left out entirely, times only as RFC 3339;
and OPTIONS answered with the API path's own methods."""

import pytest
from sqlmodel import func, select

from botdesk.db.models import Command
from tests.factories import make_api_key, make_bot, make_user

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def trade_key(desk) -> str:
    return make_api_key(desk.db, make_user(desk.db, role="trader"), "trade")


def commands_issued(desk) -> int:
    with desk.db.reading() as session:
        return session.exec(select(func.count()).select_from(Command)).one()


@pytest.mark.parametrize(
    "headers",
    [{"Content-Type": "text/plain"}, {}, {"Content-Type": "application/x-www-form-urlencoded"}],
)
def test_a_json_body_not_declared_as_json_is_refused_and_changes_nothing(desk, trade_key, headers):
    bot = make_bot(desk.db)
    before = commands_issued(desk)
    for path in ("/api/v1/kill-switch", f"/api/v1/bots/{bot.id}/stop"):
        answer = desk.call("POST", path, trade_key, data='{"reason": "x"}', headers=headers)
        assert answer.status_code == 415, answer.text
        error = answer.json()["error"]
        assert error["code"] == "unsupported_media_type"
        assert error["message"].startswith("send the body as application/json (it came as ")
    assert commands_issued(desk) == before
    assert desk.call("GET", "/api/v1/kill-switch", trade_key).json()["engaged"] is False


def test_an_optional_body_may_be_left_out_but_null_is_not_an_object(desk, trade_key):
    bot = make_bot(desk.db)
    bare = desk.call("POST", f"/api/v1/bots/{bot.id}/stop", trade_key)  # curl -X POST
    assert bare.status_code == 202, bare.text
    assert bare.json()["command"]["reason"] == "stop through the API"
    empty = desk.call("POST", f"/api/v1/bots/{bot.id}/stop", trade_key, data=b"", headers=JSON)
    assert empty.status_code == 202, empty.text
    with_reason = desk.call(
        "POST", f"/api/v1/bots/{bot.id}/stop", trade_key, json={"reason": "rebalancing"}
    )
    assert with_reason.json()["command"]["reason"] == "rebalancing"
    before = commands_issued(desk)
    for body in ("null", "[]", "  "):
        refused = desk.call(
            "POST", f"/api/v1/bots/{bot.id}/stop", trade_key, data=body, headers=JSON
        )
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["message"] == "the body must be a JSON object"
    assert commands_issued(desk) == before


@pytest.mark.parametrize(
    "moment",
    ["0.5", "1700000000", "2024-10-28", "2024-10-28T12:00Z", "2024-10-28 12:00:00Z", "now"],
)
def test_times_are_rfc_3339_date_times_never_unix_numbers(desk, trade_key, moment):
    for path in ("signals", "orders", "fills", "equity", "risk-events", "commands"):
        answer = desk.call("GET", f"/api/v1/{path}", trade_key, params={"until": moment})
        assert answer.status_code == 400, (path, moment, answer.text)
        assert "RFC 3339" in answer.json()["error"]["message"]
    fine = desk.call("GET", "/api/v1/fills", trade_key, params={"until": "2024-10-28T12:00:00Z"})
    assert fine.status_code == 200, fine.text


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/api/v1/kill-switch/release", "OPTIONS, POST"),
        ("/api/v1/bots/1/start", "OPTIONS, POST"),
        ("/api/v1/kill-switch", "GET, HEAD, OPTIONS, POST"),
        ("/api/v1/bots", "GET, HEAD, OPTIONS"),
        ("/webhook/tradingview/any-token", "OPTIONS, POST"),
    ],
)
def test_options_names_the_api_paths_own_methods(desk, path, allowed):
    answer = desk.call("OPTIONS", path)
    assert (answer.status_code, answer.headers["Allow"], answer.text) == (204, allowed, "")


def test_options_on_no_api_path_is_a_json_404(desk):
    answer = desk.call("OPTIONS", "/api/v1/no-such-thing")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
