"""Talking to a real desk process over HTTP the way a browser does: login form, Dash calls."""

import re

import requests

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: requests.Session, base: str, path: str = "/login") -> str:
    return CSRF.search(client.get(base + path, timeout=10).text).group(1)


def login(base: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    client = requests.Session()
    response = client.post(
        f"{base}/login",
        data={"csrf_token": csrf_token(client, base), "username": username, "password": password},
        allow_redirects=False,
        timeout=30,
    )
    return client, response


def dash_call(
    client: requests.Session,
    base: str,
    output: str,
    inputs: list[dict],
    changed: list[str] | None = None,
    state: list[dict] | None = None,
):
    """POST /_dash-update-component as the Dash renderer does (single or multi output)."""
    outputs = [
        {"id": part.rsplit(".", 1)[0], "property": part.rsplit(".", 1)[1]}
        for part in output.strip(".").split("...")
    ]
    body = {
        "output": output,
        "outputs": outputs if output.startswith("..") else outputs[0],
        "inputs": inputs,
        "changedPropIds": changed
        if changed is not None
        else [f"{item['id']}.{item['property']}" for item in inputs],
        "state": state or [],
    }
    return client.post(f"{base}/_dash-update-component", json=body, timeout=30)
