"""The frame around every page on a real desk: each user's navbar lists what their role may
open and the kill switch as it stands now, though the worker keeps navbars between requests;
the strip under it shows the switch's reason."""

import pytest

from botdesk.db import kill_switch
from botdesk.db.models import Role

pytestmark = pytest.mark.integration


def shell(client, desk) -> str:
    response = client.get(f"{desk.base}/_dash-layout", timeout=30)
    assert response.status_code == 200, response.text[:300]
    return str(response.json())


def test_each_navbar_is_the_users_own_and_follows_the_kill_switch(desk):
    trader = desk.signed_in("sh-trader", "trader")
    viewer = desk.signed_in("sh-viewer", "viewer")
    admin = desk.signed_in("sh-admin", "admin")
    for _ in range(3):  # the later ones from the workers' kept navbars
        mine, theirs, admins = shell(trader, desk), shell(viewer, desk), shell(admin, desk)
        assert "sh-trader · trader" in mine and "kill-open" in mine
        assert "sh-viewer" not in mine and "shell-admin-menu" not in mine
        assert "sh-viewer · viewer" in theirs and "kill-open" not in theirs
        assert "sh-admin · admin" in admins and "shell-admin-menu" in admins

    with desk.db.writing() as session:
        kill_switch.engage(session=session, by="sh-admin", role=Role.ADMIN, reason="feed froze")
    for _ in range(3):
        mine, admins = shell(trader, desk), shell(admin, desk)
        assert "KILL SWITCH ENGAGED" in mine and "kill-open" not in mine
        assert "kill-release-open" in admins
        assert "by sh-admin" in mine and "feed froze" in mine  # the strip under the navbar
