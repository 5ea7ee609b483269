"""Audit log filters on both databases: the ones the audit page and the CSV export share."""

from datetime import UTC, date, datetime

import pytest

from botdesk.db import audit
from botdesk.db.audit import AuditFilter, BadFilter


@pytest.fixture
def rows(db):
    entries = [
        ("ann", "login.ok", "ok", datetime(2025, 3, 1, 0, 0, tzinfo=UTC)),
        ("ann", "login.failed", "refused", datetime(2025, 3, 1, 23, 59, 59, tzinfo=UTC)),
        ("bob", "login.failed", "refused", datetime(2025, 3, 2, 12, 0, tzinfo=UTC)),
        ("bob", "access.refused", "refused", datetime(2025, 3, 3, 0, 0, tzinfo=UTC)),
        ("cli:root", "user.create", "ok", datetime(2025, 3, 4, 8, 0, tzinfo=UTC)),
    ]
    with db.writing() as session:
        for actor, action, outcome, at in entries:
            row = audit.record(session=session, actor=actor, action=action, outcome=outcome)
            row.at = at
    return entries


def found(db, **query) -> list[tuple[str, str]]:
    filters = AuditFilter.from_query(query)
    with db.reading() as session:
        matched = audit.search(session=session, filters=filters)
        assert audit.count(session=session, filters=filters) == len(matched)
    return [(row.actor, row.action) for row in matched]


def test_filters_select_by_actor_action_outcome_and_whole_days(db, rows):
    assert len(found(db)) == 5
    assert found(db, actor="bob") == [("bob", "access.refused"), ("bob", "login.failed")]
    assert found(db, action="login.failed") == [("bob", "login.failed"), ("ann", "login.failed")]
    assert found(db, outcome="ok") == [("cli:root", "user.create"), ("ann", "login.ok")]
    # both days included, whole days in UTC
    assert found(db, **{"from": "2025-03-01", "to": "2025-03-01"}) == [
        ("ann", "login.failed"),
        ("ann", "login.ok"),
    ]
    assert found(db, **{"from": "2025-03-02", "to": "2025-03-03"}) == [
        ("bob", "access.refused"),
        ("bob", "login.failed"),
    ]
    assert found(db, actor="ann", outcome="refused", **{"to": "2025-03-05"}) == [
        ("ann", "login.failed")
    ]


def test_newest_first_and_limited(db, rows):
    with db.reading() as session:
        newest = audit.search(session=session, filters=AuditFilter(), limit=2)
    assert [row.actor for row in newest] == ["cli:root", "bob"]
    with db.reading() as session:
        everything = audit.search(session=session, filters=AuditFilter())
    assert len(everything) == len(rows)  # fewer than the default limit


def test_menus_list_each_actor_and_action_once(db, rows):
    with db.reading() as session:
        assert audit.distinct_values(session=session, column="actor") == ["ann", "bob", "cli:root"]
        actions = audit.distinct_values(session=session, column="action")
    assert actions == ["access.refused", "login.failed", "login.ok", "user.create"]


def test_the_export_link_carries_the_same_filters():
    filters = AuditFilter(actor="a b", outcome="refused", since=date(2025, 1, 2))
    assert filters.query_string() == "actor=a+b&outcome=refused&from=2025-01-02"
    assert AuditFilter.from_query({"actor": "a b", "outcome": "refused", "from": "2025-01-02"}) == (
        filters
    )
    assert AuditFilter().query_string() == ""


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "yesterday"}, "from must be a date like 2025-01-31"),
        ({"to": "2025-13-01"}, "to must be a date"),
        ({"outcome": "maybe"}, "outcome must be one of ok, refused, failed"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "'from' is after 'to'"),
    ],
)
def test_bad_filters_say_what_is_wrong(query, message):
    with pytest.raises(BadFilter, match=message):
        AuditFilter.from_query(query)
