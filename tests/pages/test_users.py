"""The users page on a real desk, as an admin presses its buttons: each change made and
audited, bad input refused with a reason, an admin's own account protected."""

import pytest
from sqlmodel import select

from botdesk.db.models import AuditLog, BackupCode, Notification, User
from tests.desk import click, login
from tests.factories import PASSWORD, make_user
from tests.rows import audit_trail, user_named

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("chief", "admin")


def component(node, component_id: str) -> dict | None:
    """The props of the component with this id somewhere in a Dash response."""
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and props.get("id") == component_id:
            return props
        children = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    return next(filter(None, (component(child, component_id) for child in children)), None)


def add(desk, admin, name: str, role: str = "viewer", password: str = ""):
    return click(
        admin,
        desk.base,
        "users-create",
        {
            "users-new-name.value": name,
            "users-new-role.value": role,
            "users-new-password.value": password,
        },
    )


def change(desk, admin, button: str, target: str, role: str | None = None):
    values = {"users-target.value": target, "users-role.value": role}
    return click(admin, desk.base, button, values)


def test_an_admin_adds_a_user_who_then_signs_in_and_enrols(desk, admin):
    response = add(desk, admin, "Trader.Tom", "trader")
    password = component(response.json(), "users-generated-password")["children"]
    assert "Added trader.tom (trader)" in response.text and "shown once" in response.text
    row = user_named(desk.db, "trader.tom")
    assert (row.role, row.totp_enabled, row.disabled) == ("trader", False, False)
    assert password not in row.password_hash
    audit = audit_trail(desk.db)[-1]
    assert (audit.actor, audit.action, audit.target) == ("chief", "user.create", "user:trader.tom")
    _, enrolled = login(desk.base, "trader.tom", password)
    assert "backup-codes" in enrolled.text
    assert user_named(desk.db, "trader.tom").totp_enabled


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("x", "viewer", "", "username must be 3 to 64 characters"),
        ("u" * 80, "viewer", "", "username: at most 64 characters (80 given)"),
        ("fine-name", "viewer", "p" * 1100, "password: at most 1024 characters (1100 given)"),
        ("fine-name", "superuser", "", "unknown role 'superuser'"),
        ("fine-name", "viewer", "short", "The password must be at least 12 characters"),
        ("chief", "viewer", "", "a user named 'chief' already exists"),
    ],
)
def test_bad_new_users_are_refused_with_a_reason(desk, admin, name, role, password, message):
    with desk.db.reading() as session:
        before = len(session.exec(select(User)).all())
    response = add(desk, admin, name, role, password)
    assert message in response.text
    with desk.db.reading() as session:
        assert len(session.exec(select(User)).all()) == before


def test_disable_and_enable(desk, admin):
    make_user(desk.db, username="dora")
    client, _ = login(desk.base, "dora", PASSWORD)
    assert "Done: disable dora" in change(desk, admin, "users-disable", "dora").text
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    _, refused = login(desk.base, "dora", PASSWORD)
    assert refused.status_code == 401
    assert "Done: enable dora" in change(desk, admin, "users-enable", "dora").text
    _, admitted = login(desk.base, "dora", PASSWORD)
    assert admitted.headers["location"] == "/"
    assert audit_trail(desk.db)[-1].action == "login.ok"


def test_reset_two_factor_sends_the_user_back_to_enrolment(desk, admin):
    make_user(desk.db, username="eli")
    client, _ = login(desk.base, "eli", PASSWORD)
    assert "Done: reset two-factor of eli" in change(desk, admin, "users-reset-2fa", "eli").text
    row = user_named(desk.db, "eli")
    assert (row.totp_enabled, row.totp_secret_encrypted, row.totp_last_step) == (False, None, None)
    with desk.db.reading() as session:
        assert session.exec(select(BackupCode).where(BackupCode.user_id == row.id)).all() == []
    assert client.get(f"{desk.base}/_dash-layout").status_code == 401
    _, again = login(desk.base, "eli", PASSWORD)  # enrols a new authenticator
    assert "backup-codes" in again.text
    assert audit_trail(desk.db)[-1].action == "login.ok"
    with desk.db.reading() as session:
        reset = session.exec(select(AuditLog).where(AuditLog.action == "2fa.reset")).one()
    assert (reset.actor, reset.target) == ("chief", "user:eli")


def test_set_role(desk, admin):
    make_user(desk.db, username="fin")
    assert "fin is now trader" in change(desk, admin, "users-set-role", "fin", "trader").text
    assert user_named(desk.db, "fin").role == "trader"
    assert "unknown role" in change(desk, admin, "users-set-role", "fin", "king").text
    assert user_named(desk.db, "fin").role == "trader"
    with desk.db.reading() as session:
        (alert,) = session.exec(
            select(Notification).where(Notification.kind == "security.role_changed")
        ).all()
    assert alert.title == "Role changed: fin viewer -> trader"
    assert alert.body == "chief changed fin's role from viewer to trader."


@pytest.mark.parametrize(
    ("button", "verb"),
    [
        ("users-disable", "disable"),
        ("users-set-role", "set the role"),
        ("users-reset-2fa", "reset two-factor of"),
        ("users-revoke", "sign out"),
    ],
)
def test_an_admin_cannot_lock_themselves_out_here(desk, admin, button, verb):
    response = change(desk, admin, button, "chief", "viewer")
    assert f"You cannot {verb} your own account here" in response.text
    row = user_named(desk.db, "chief")
    assert (row.role, row.disabled, row.totp_enabled) == ("admin", False, True)
    assert admin.get(f"{desk.base}/_dash-layout").status_code == 200


def test_no_user_chosen(desk, admin):
    assert "Choose a user first." in change(desk, admin, "users-unlock", None).text
