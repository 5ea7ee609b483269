"""The audit log page on a real desk: filters, the count, and the export link carrying the
same filters to /export/audit_log.csv."""

import pytest

from tests.desk import call_registered, dependencies, first_output, password_step
from tests.factories import make_user

pytestmark = pytest.mark.integration


def audit_table(client, base: str) -> dict:
    """The registered callback that renders the audit page's table."""
    return next(
        dep
        for dep in dependencies(client, base)
        if first_output(dep["output"]) == "audit-rows.children"
    )


@pytest.fixture(scope="module")
def show(desk):
    """The audit page's table for these filters, as an admin sees it."""
    admin = desk.signed_in("auditor", "admin")
    table = audit_table(admin, desk.base)

    def answer(**filters):
        values = {f"audit-{key}.value": value for key, value in filters.items()}
        response = call_registered(admin, desk.base, table, values, default="any")
        assert response.status_code == 200
        return response.json()["response"]

    return answer


def test_filters_narrow_the_rows_and_the_export_link_follows(desk, show):
    make_user(desk.db, username="wrong-guy")
    password_step(desk.base, "wrong-guy", "not the password")
    everything = show(actor="", **{"from": "", "to": ""})
    assert everything["audit-export"]["href"] == "/export/audit_log.csv"
    assert "login.failed" in str(everything["audit-rows"]) and "login.ok" in str(everything)

    failed = show(actor="wrong-guy", action="login.failed", outcome="refused")
    assert failed["audit-summary"]["children"] == "1 matching entries"
    assert "login.ok" not in str(failed["audit-rows"])
    assert failed["audit-export"]["href"] == (
        "/export/audit_log.csv?actor=wrong-guy&action=login.failed&outcome=refused"
    )
    dated = show(actor="", **{"from": "2020-01-01", "to": "2020-01-31"})
    assert "Nothing matches." in str(dated["audit-rows"])
    assert dated["audit-export"]["href"].endswith("?from=2020-01-01&to=2020-01-31")


def test_a_bad_date_range_is_explained(show):
    answer = show(actor="", **{"from": "2021-02-01", "to": "2021-01-01"})
    assert "'from' is after 'to'" in str(answer["audit-rows"])


def test_a_tick_re_renders_only_when_an_entry_was_written(desk):
    admin = desk.signed_in("auditor-ticks", "admin")
    table = audit_table(admin, desk.base)
    values = {"audit-actor.value": "", "audit-from.value": "", "audit-to.value": ""}

    def call(**options):
        return call_registered(admin, desk.base, table, values, default="any", **options)

    first = call()  # the page opens: every input counts
    values["audit-marker.data"] = shown = first.json()["response"]["audit-marker"]["data"]
    tick = ["audit-tick.n_intervals"]
    assert call(changed=tick).status_code == 204  # nothing new: the page keeps its table
    password_step(desk.base, "wrong-guy", "still not the password")  # one more entry
    answer = call(changed=tick)
    assert answer.status_code == 200
    assert answer.json()["response"]["audit-marker"]["data"][1] > shown[1]
    assert "still" not in answer.text and "login.failed" in answer.text
