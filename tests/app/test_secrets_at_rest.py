"""No plaintext password, TOTP secret, backup code or exchange credential anywhere in the
database (the SQLite file's bytes, WAL included; every PostgreSQL table as text), nor in
the desk's log, after they went through the real pages."""

import re
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from botdesk.db.models import ALL_TABLES
from tests.desk import click, fresh_code, login
from tests.factories import PASSWORD, TOTP_SECRETS, make_user

pytestmark = pytest.mark.integration

VIEWER_PASSWORD = "first password of vic"
NEW_PASSWORD = "vic's second password"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BACKUP = re.compile(r"(?<![\w-])[a-z2-9]{5}-[a-z2-9]{5}(?![\w-])")


def database_text(db) -> bytes:
    if db.is_sqlite:
        path = Path(make_url(db.url).database)
        files = sorted(path.parent.glob(path.name + "*"))  # the file, its -wal and -shm
        assert path in files
        return b"".join(file.read_bytes() for file in files)
    with db.reading() as session:
        rows = [
            row[0]
            for table in ALL_TABLES
            for row in session.execute(text(f'SELECT t::text FROM "{table}" t'))
        ]
    return "\n".join(rows).encode()


def test_no_secret_is_stored_or_logged_in_clear(desk):
    make_user(desk.db, role="admin", username="ada")
    admin, _ = login(desk.base, "ada", PASSWORD)
    created = click(
        admin,
        desk.base,
        "users-create",
        {
            "users-new-name.value": "vic",
            "users-new-role.value": "viewer",
            "users-new-password.value": VIEWER_PASSWORD,
        },
    )
    assert "Added vic (viewer)" in created.text
    viewer, enrolled = login(desk.base, "vic", VIEWER_PASSWORD)  # enrols: QR, secret, code
    first_codes = BACKUP.findall(enrolled.text)
    changed = click(
        viewer,
        desk.base,
        "account-password-save",
        {
            "account-password-current.value": VIEWER_PASSWORD,
            "account-password-new.value": NEW_PASSWORD,
            "account-password-confirm.value": NEW_PASSWORD,
        },
    )
    assert "Password changed" in changed.text
    regenerated = click(
        admin,
        desk.base,
        "account-2fa-regenerate",
        {"account-2fa-code.value": fresh_code(TOTP_SECRETS["ada"])},
    )
    second_codes = BACKUP.findall(regenerated.text)
    added = click(
        admin,
        desk.base,
        "exchange-create",
        {
            "exchange-name.value": "binance-live",
            "exchange-environment.value": "live",
            "exchange-api-key.value": API_KEY,
            "exchange-api-secret.value": API_SECRET,
            "exchange-live-confirm.value": True,
        },
    )
    assert "Added binance-live (live), API key \\u2026Eh8A" in added.text
    assert API_SECRET not in added.text and API_KEY not in added.text
    assert len(first_codes) == len(second_codes) == 10

    secrets = {
        "a password": [PASSWORD, VIEWER_PASSWORD, NEW_PASSWORD],
        "a TOTP secret": [TOTP_SECRETS["ada"], TOTP_SECRETS["vic"]],
        "a backup code": first_codes + second_codes,
        "an exchange credential": [API_KEY, API_SECRET],
    }
    stored = database_text(desk.db)
    assert b"binance-live" in stored and b"Eh8A" in stored  # the scan sees what is there
    logged = desk.log.read_bytes()
    assert b"/_dash-update-component" in logged  # and the log is the desk's access log
    for kind, values in secrets.items():
        for value in values:
            forms = {value, value.lower(), value.upper(), value.replace("-", "")}
            for form in forms:
                in_database, in_log = form.encode() in stored, form.encode() in logged
                assert not in_database, f"{kind} is stored in clear: {form}"
                assert not in_log, f"{kind} is in the desk's log: {form}"
