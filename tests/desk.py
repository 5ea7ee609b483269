"""Talking to a real desk process over HTTP the way a browser does: sign-in, Dash calls.

`login` answers the second step by itself: a TOTP code for users made by make_user, or,
for a user without 2FA on a desk that requires it, the enrolment (it reads the secret off
the page as a person would, and remembers it in TOTP_SECRETS).
"""

import html
import json
import re
import time
from pathlib import Path

import pyotp
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from botdesk.app.twofactor import STEP_SECONDS, current_step
from botdesk.db.session import Database
from tests.conftest import make_env
from tests.factories import PASSWORD, TOTP_SECRETS, make_user
from tests.keys import TEST_SECRET_KEY
from tests.processes import start_web

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ENROL_SECRET = re.compile(r'id="enrol-secret">([A-Z2-7 ]+)<')
_last_step: dict[str, int] = {}  # secret -> latest TOTP step these helpers used


def csrf_token(client: requests.Session, base: str, path: str = "/login") -> str:
    return CSRF.search(client.get(base + path, timeout=10).text).group(1)


def fresh_code(secret: str) -> str:
    """A TOTP code from a step no earlier call used: the desk refuses a step used before.

    The desk accepts the current and the next step, so two sign-ins within 30 seconds
    need no wait; a third waits for the next step.
    """
    while True:
        now = current_step()
        step = max(now, _last_step.get(secret, now - 1) + 1)
        if step <= now + 1:
            break
        time.sleep((now + 1) * STEP_SECONDS - time.time() + 0.05)
    _last_step[secret] = step
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def submit_code(client: requests.Session, base: str, path: str, code: str) -> requests.Response:
    token = csrf_token(client, base, path)
    return client.post(
        base + path, data={"csrf_token": token, "code": code}, allow_redirects=False, timeout=30
    )


def enrolment_secret(client: requests.Session, base: str) -> str:
    page = client.get(f"{base}/login/enrol", timeout=10).text
    return ENROL_SECRET.search(html.unescape(page)).group(1).replace(" ", "")


def password_step(
    base: str, username: str, password: str
) -> tuple[requests.Session, requests.Response]:
    """Only the first step of sign-in: the password form, from a new client."""
    client = requests.Session()
    response = client.post(
        f"{base}/login",
        data={"csrf_token": csrf_token(client, base), "username": username, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    return client, response


def login(base: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in through /login and the second step; returns the client and the last response
    (302 to the page on success; 200 with the backup codes after an enrolment)."""
    client, response = password_step(base, username, password)
    location = response.headers.get("location", "") if response.status_code == 302 else ""
    name = username.strip().lower()
    if location.endswith("/login/2fa"):
        if name not in TOTP_SECRETS:
            raise KeyError(f"{name} has 2FA but was not made by make_user: no secret known")
        response = submit_code(client, base, "/login/2fa", fresh_code(TOTP_SECRETS[name]))
    elif location.endswith("/login/enrol"):
        TOTP_SECRETS[name] = enrolment_secret(client, base)
        response = submit_code(client, base, "/login/enrol", fresh_code(TOTP_SECRETS[name]))
    return client, response


def concrete_id(component_id: str, match=0):
    """A pattern-matching id as the renderer sends it: MATCH filled in with `match`."""
    if not component_id.startswith("{"):
        return component_id
    pattern = json.loads(component_id)
    return {key: (match if value == ["MATCH"] else value) for key, value in pattern.items()}


def id_key(component_id: dict) -> str:
    """A concrete pattern-matching id as a key of `values` ({"id.prop": value})."""
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def _output(part: str, match=0):
    """One output as the renderer lists it: an ALL pattern as the list of the components
    it matches (none here; `with_outputs` lists some)."""
    component_id, prop = part.rsplit(".", 1)
    if component_id.startswith("{") and ["ALL"] in json.loads(component_id).values():
        return []
    return {"id": concrete_id(component_id, match), "property": prop}


def with_outputs(body: dict, pattern_output: str, ids: list[dict]) -> dict:
    """`body` with the ALL output `pattern_output` ("{...}.prop") matching `ids`."""
    prop = pattern_output.rsplit(".", 1)[1]
    parts = body["output"].strip(".").split("...")
    listed = [{"id": each, "property": prop} for each in ids]
    if body["output"].startswith(".."):
        body["outputs"][parts.index(pattern_output)] = listed
    else:
        body["outputs"] = listed
    return body


def dash_body(
    output: str,
    inputs: list,
    changed: list[str] | None = None,
    state: list | None = None,
    match=0,
) -> dict:
    """The JSON the Dash renderer POSTs to /_dash-update-component (single or multi output);
    a MATCH in the output ids is filled in with `match`."""
    outputs = [_output(part, match) for part in output.strip(".").split("...")]
    return {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "changedPropIds": changed
        if changed is not None
        else [f"{item['id']}.{item['property']}" for item in inputs],
        "state": state or [],
    }


# the shell's poll on every page: the strip and the navbar's kill-switch control
SHELL_POLL = "..shell-status.children...kill-control.children...kill-marker.data.."
KILL_MARKER = [{"id": "kill-marker", "property": "data", "value": None}]


def shell_poll(client: requests.Session, base: str, ticks: list[dict], **options):
    """The shell's once-a-second callback, as a page that shows no kill-switch state yet."""
    return dash_call(client, base, SHELL_POLL, ticks, state=KILL_MARKER, **options)


def dash_call(
    client: requests.Session,
    base: str,
    output: str,
    inputs: list[dict],
    changed: list[str] | None = None,
    state: list[dict] | None = None,
):
    """POST /_dash-update-component as the Dash renderer does."""
    body = dash_body(output, inputs, changed, state)
    return client.post(f"{base}/_dash-update-component", json=body, timeout=30)


class RunningDesk:
    """A real `botdesk web` on its own database, shared by the tests of one module."""

    def __init__(self, database_url: str, folder: Path, workers: int = 1, **env_extra: str):
        folder.mkdir(parents=True, exist_ok=True)
        self.env = make_env(database_url, folder, **env_extra)
        self.db = Database(database_url)
        self.log = folder / "web.log"
        self.web, self.base = start_web(self.env, self.log, workers=workers)

    def call(self, method: str, path: str, key: str | None = None, **options) -> requests.Response:
        """A request as a machine client makes it: no session, an API key when given."""
        headers = dict(options.pop("headers", {}))
        if key is not None:
            headers["X-API-Key"] = key
        return requests.request(method, self.base + path, headers=headers, timeout=30, **options)

    def signed_in(self, username: str, role: str = "viewer") -> requests.Session:
        """A client signed in as a new user of this role (made by make_user)."""
        make_user(self.db, role=role, username=username)
        client, response = login(self.base, username, PASSWORD)
        assert response.status_code == 302, response.text[:300]
        return client

    def stop(self) -> None:
        self.web.stop()
        self.db.dispose()


def dependencies(client: requests.Session, base: str) -> list[dict]:
    """Every callback the desk registered, as its /_dash-dependencies lists them."""
    response = client.get(f"{base}/_dash-dependencies", timeout=10)
    response.raise_for_status()
    return response.json()


def first_output(output: str) -> str:
    """`a.children` for both `a.children` and `..a.children...b.value..`: names one callback."""
    return output.strip(".").split("...")[0]


def _wire(items: list[dict], values: dict, default, match=0) -> list:
    wired = []
    for item in items:
        key = f"{item['id']}.{item['property']}"
        value = values.get(key, default)
        if item["id"].startswith("{"):  # pattern-matching id
            pattern = json.loads(item["id"])
            if any(v in (["ALL"], ["ALLSMALLER"]) for v in pattern.values()):
                wired.append([])  # no component matches: an empty list, as the renderer sends
                continue
            concrete = concrete_id(item["id"], match)
            value = values.get(f"{id_key(concrete)}.{item['property']}", value)
            wired.append({"id": concrete, "property": item["property"], "value": value})
        else:
            wired.append({"id": item["id"], "property": item["property"], "value": value})
    return wired


def registered_body(
    dependency: dict,
    values: dict | None = None,
    default=None,
    changed: list[str] | None = None,
    match=0,
) -> dict:
    """The POST body for one registered callback, with `values` ({"id.prop": value}, a
    pattern-matching id either as registered or filled in as `id_key` writes it) for its
    inputs and states and `default` for the rest; `changed` defaults to every input; MATCH
    is filled in with `match` (e.g. a grid's name)."""
    values = values or {}
    inputs = _wire(dependency["inputs"], values, default, match)
    if changed is None:
        changed = [f"{item['id']}.{item['property']}" for item in dependency["inputs"]]
    state = _wire(dependency["state"], values, default, match)
    return dash_body(dependency["output"], inputs, changed, state, match)


def call_registered(
    client: requests.Session,
    base: str,
    dependency: dict,
    values: dict | None = None,
    default=None,
    changed: list[str] | None = None,
) -> requests.Response:
    """POST one registered callback by hand (see registered_body)."""
    body = registered_body(dependency, values, default, changed)
    return client.post(f"{base}/_dash-update-component", json=body, timeout=30)


SESSION_COOKIE = "botdesk_session"


def _cookie_serializer():
    """Flask's own signing of the session cookie, with the key the test desk runs with."""
    signer = Flask("tests.cookies")
    signer.secret_key = TEST_SECRET_KEY
    return SecureCookieSessionInterface().get_signing_serializer(signer)


def read_session(client: requests.Session) -> dict:
    """What the desk keeps in this client's signed session cookie."""
    return _cookie_serializer().loads(client.cookies[SESSION_COOKIE])


def write_session(client: requests.Session, data: dict) -> None:
    """Replace the client's session cookie with `data`, signed as the desk signs it (e.g.
    to present a session that is 31 minutes old without waiting 31 minutes)."""
    for cookie in client.cookies:
        if cookie.name == SESSION_COOKIE:
            cookie.value = _cookie_serializer().dumps(data)
            return
    raise KeyError("this client has no desk session cookie")


def click(
    client: requests.Session, base: str, button: str, values: dict | None = None
) -> requests.Response:
    """Press a button as the browser would: POST the callback it triggers, with `values`
    ({"field-id.value": ...}) for the form fields the callback reads."""
    trigger = f"{button}.n_clicks"
    for dependency in dependencies(client, base):
        if any(f"{item['id']}.{item['property']}" == trigger for item in dependency["inputs"]):
            wired = {**(values or {}), trigger: 1}
            return call_registered(client, base, dependency, wired, changed=[trigger])
    raise KeyError(f"no callback is triggered by {trigger}")


def render(client: requests.Session, base: str, path: str) -> str:
    """A page's content as the Dash router returns it for `path` (its layout as JSON text)."""
    router = next(
        dep
        for dep in dependencies(client, base)
        if first_output(dep["output"]) == "_pages_content.children"
    )
    values = {"_pages_location.pathname": path, "_pages_location.search": ""}
    response = call_registered(client, base, router, values)
    response.raise_for_status()
    return json.dumps(response.json(), ensure_ascii=False, separators=(",", ":"))


def grid_rows(
    client: requests.Session,
    base: str,
    grid: str,
    request: dict | None = None,
    scope: dict | None = None,
) -> dict:
    """Ask a desk grid for a block of rows as ag-grid does; returns the callback's answer
    ({"desk-grid": {"getRowsResponse": ...}, "desk-grid-export": {"href": ...}, ...})."""
    grid_id = {"name": grid, "type": "desk-grid"}
    asked = {"startRow": 0, "endRow": 100, "sortModel": [], "filterModel": {}, **(request or {})}
    dependency = next(
        dep
        for dep in dependencies(client, base)
        if first_output(dep["output"]).endswith('"type":"desk-grid"}.getRowsResponse')
    )
    body = registered_body(dependency)
    body["inputs"] = [{"id": grid_id, "property": "getRowsRequest", "value": asked}]
    body["state"] = [
        {"id": {"name": grid, "type": "desk-grid-scope"}, "property": "data", "value": scope}
    ]
    body["outputs"] = [
        {"id": {"name": grid, "type": kind}, "property": prop}
        for kind, prop in (
            ("desk-grid", "getRowsResponse"),
            ("desk-grid-export", "href"),
            ("desk-grid-note", "children"),
        )
    ]
    body["changedPropIds"] = [json.dumps(grid_id, separators=(",", ":")) + ".getRowsRequest"]
    response = client.post(f"{base}/_dash-update-component", json=body, timeout=30)
    response.raise_for_status()
    return response.json()["response"]
