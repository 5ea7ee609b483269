"""Flask-Limiter on sign-in, on a real desk with low limits: per username and per IP,
passwords and codes counted together."""

import pytest
import requests

from tests.desk import RunningDesk, csrf_token, submit_code
from tests.factories import PASSWORD, make_api_key, make_user

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(sqlite_url, tmp_path):
    """SQLite only: the counts live in the limiter's storage, not in the database."""
    running = RunningDesk(
        sqlite_url,
        tmp_path,
        BOTDESK_LOGIN_RATE_LIMIT_USER="3/minute",
        BOTDESK_LOGIN_RATE_LIMIT_IP="5/minute",
    )
    yield running
    running.stop()


def attempt(client: requests.Session, base: str, username: str, password: str):
    token = csrf_token(client, base)
    data = {"csrf_token": token, "username": username, "password": password}
    return client.post(f"{base}/login", data=data, allow_redirects=False)


def test_sign_in_attempts_are_limited_per_username_and_per_ip(desk):
    make_user(desk.db, username="rob")
    client = requests.Session()
    assert attempt(client, desk.base, "rob", "wrong one").status_code == 401
    assert attempt(client, desk.base, "rob", "wrong two").status_code == 401
    assert attempt(client, desk.base, "rob", PASSWORD).headers["location"] == "/login/2fa"
    # the code step counts for the same username: its budget of 3 is spent
    limited = submit_code(client, desk.base, "/login/2fa", "123456")
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.text
    assert 1 <= int(limited.headers["Retry-After"]) <= 61  # the rest of the limit's minute
    assert attempt(requests.Session(), desk.base, "ROB ", PASSWORD).status_code == 429

    # other usernames from the same address: the IP's budget of 5, 3 spent by rob's
    # admitted attempts (a request refused by the first limit is not counted again)
    assert attempt(requests.Session(), desk.base, "someone", "x").status_code == 401
    assert attempt(requests.Session(), desk.base, "another", "x").status_code == 401
    assert attempt(requests.Session(), desk.base, "a-third", "x").status_code == 429
    # pages and the GET of the forms are not limited
    assert requests.get(f"{desk.base}/login").status_code == 200


@pytest.fixture
def guarded_desk(sqlite_url, tmp_path):
    running = RunningDesk(sqlite_url, tmp_path, BOTDESK_KEY_GUESS_RATE_LIMIT="3/minute")
    yield running
    running.stop()


def test_guessing_api_keys_and_webhook_tokens_is_limited_per_ip(guarded_desk):
    base = guarded_desk.base
    key = make_api_key(guarded_desk.db, make_user(guarded_desk.db), "read")
    good = {"X-API-Key": key}
    # a valid key is never counted, however often it is used
    for _ in range(5):
        assert requests.get(f"{base}/api/v1/bots", headers=good).status_code == 200
    wrong = {"X-API-Key": "bd_nothing_like_a_key"}
    assert requests.get(f"{base}/api/v1/bots", headers=wrong).status_code == 401
    assert requests.get(f"{base}/api/v1/bots", headers=wrong).status_code == 401
    # an unknown webhook token spends the same budget
    alert = {"action": "buy", "symbol": "BTCUSDT", "price": "1", "alert_id": "a"}
    assert requests.post(f"{base}/webhook/tradingview/guess", json=alert).status_code == 404
    limited = requests.get(f"{base}/api/v1/bots", headers=good)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert requests.post(f"{base}/webhook/tradingview/guess", json=alert).status_code == 429
