"""The audit log page on a real desk: filters, the count, and the export link carrying the
same filters to /export/audit_log.csv."""

import pytest

from tests.desk import (
    RunningDesk,
    call_registered,
    dependencies,
    first_output,
    password_step,
)
from tests.factories import make_user

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    running = RunningDesk(module_database_url, tmp_path_factory.mktemp("audit"))
    running.admin = running.signed_in("auditor", "admin")
    running.show = next(
        dep
        for dep in dependencies(running.admin, running.base)
        if first_output(dep["output"]) == "audit-rows.children"
    )
    yield running
    running.stop()


def show(desk, **filters):
    values = {f"audit-{key}.value": value for key, value in filters.items()}
    response = call_registered(desk.admin, desk.base, desk.show, values, default="any")
    assert response.status_code == 200
    return response.json()["response"]


def test_filters_narrow_the_rows_and_the_export_link_follows(desk):
    make_user(desk.db, username="wrong-guy")
    password_step(desk.base, "wrong-guy", "not the password")
    everything = show(desk, actor="", **{"from": "", "to": ""})
    assert everything["audit-export"]["href"] == "/export/audit_log.csv"
    assert "login.failed" in str(everything["audit-rows"]) and "login.ok" in str(everything)

    failed = show(desk, actor="wrong-guy", action="login.failed", outcome="refused")
    assert failed["audit-summary"]["children"] == "1 matching entries"
    assert "login.ok" not in str(failed["audit-rows"])
    assert failed["audit-export"]["href"] == (
        "/export/audit_log.csv?actor=wrong-guy&action=login.failed&outcome=refused"
    )
    dated = show(desk, actor="", **{"from": "2020-01-01", "to": "2020-01-31"})
    assert "Nothing matches." in str(dated["audit-rows"])
    assert dated["audit-export"]["href"].endswith("?from=2020-01-01&to=2020-01-31")


def test_a_bad_date_range_is_explained(desk):
    answer = show(desk, actor="", **{"from": "2021-02-01", "to": "2021-01-01"})
    assert "'from' is after 'to'" in str(answer["audit-rows"])
