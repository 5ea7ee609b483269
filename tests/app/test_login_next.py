"""Where sign-in goes afterwards (`/login?next=`): only a path on this site, and a value a
link could forge (CR/LF, another host, a backslash) falls back to "/", never a 500."""

from urllib.parse import quote

import pytest
import requests

from tests.desk import csrf_token, fresh_code, submit_code
from tests.factories import PASSWORD, TOTP_SECRETS, make_user

pytestmark = pytest.mark.integration


def sign_in_via(desk, username: str, next_value: str) -> tuple[requests.Response, ...]:
    """GET the form, POST the password and then the code, with `?next=` as a link gives it."""
    client = requests.Session()
    login = f"{desk.base}/login?next={quote(next_value, safe='')}"
    form = client.get(login, timeout=10)
    password = client.post(
        login,
        data={
            "csrf_token": csrf_token(client, desk.base, "/login"),
            "username": username,
            "password": PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    code = submit_code(client, desk.base, "/login/2fa", fresh_code(TOTP_SECRETS[username]))
    return form, password, code


@pytest.mark.parametrize(
    "forged",
    [
        "/\r\nSet-Cookie: stolen=1",
        "/bots\n",
        "/\x00",
        "//evil.example/",
        "/\\evil.example",
        "https://evil.example/",
        "bots",
        "/" + "a" * 3000,
    ],
)
def test_a_forged_next_falls_back_to_the_overview(desk, forged):
    username = f"next-{abs(hash(forged)) % 10**8}"
    make_user(desk.db, username=username)
    form, password, code = sign_in_via(desk, username, forged)
    assert form.status_code == 200
    assert (password.status_code, password.headers["location"]) == (302, "/login/2fa")
    assert (code.status_code, code.headers["location"]) == (302, "/")
    assert "stolen" not in code.headers.get("set-cookie", "")


def test_a_path_on_this_site_is_where_sign_in_goes(desk):
    make_user(desk.db, username="next-ok")
    _, _, code = sign_in_via(desk, "next-ok", "/bots?symbol=BTCUSDT")
    assert (code.status_code, code.headers["location"]) == (302, "/bots?symbol=BTCUSDT")
