"""Security events reach the outbox from a real desk: a lockout, a sign-in from an address
the user never signed in from (not a first sign-in, not a known address)."""

import json

import pytest
from sqlmodel import col, select

from botdesk.db import audit
from botdesk.db.models import Notification
from tests.desk import RunningDesk, login, password_step
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(module_database_url, tmp_path_factory.mktemp("security-alerts"))
    yield running
    running.stop()


def announced(db, kind: str) -> list[dict]:
    with db.reading() as session:
        rows = session.exec(
            select(Notification).where(Notification.kind == kind).order_by(col(Notification.id))
        ).all()
    return [json.loads(row.payload) for row in rows]


def test_a_lockout_is_announced_once_with_the_address(desk):
    make_user(desk.db, username="lou")
    for _ in range(5):
        password_step(desk.base, "lou", "wrong password")
    password_step(desk.base, "lou", "wrong password")  # while locked: no second message
    (locked,) = announced(desk.db, "security.lockout")
    assert (locked["username"], locked["ip"]) == ("lou", "127.0.0.1")


def nia_alerts(desk) -> list[dict]:
    return [a for a in announced(desk.db, "security.new_address") if a["username"] == "nia"]


def test_a_sign_in_from_a_new_address_is_announced_once(desk):
    make_user(desk.db, username="ned")
    login(desk.base, "ned", PASSWORD)  # a first sign-in: no usual address yet
    user = make_user(desk.db, username="nia")
    with desk.db.writing() as session:  # she has signed in before, from elsewhere
        audit.record(
            session=session, actor="nia", user_id=user.id, action="login.ok", ip="10.1.2.3"
        )
    login(desk.base, "nia", PASSWORD)
    (alert,) = nia_alerts(desk)
    assert alert["ip"] == "127.0.0.1"
    login(desk.base, "nia", PASSWORD)  # now a known address
    assert len(nia_alerts(desk)) == 1
    assert announced(desk.db, "security.new_address") == [alert]
