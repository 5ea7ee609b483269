"""The lockout count on both databases: 5 failures lock for 15 minutes, then five more tries."""

from datetime import timedelta

from botdesk.db import lockout
from botdesk.db.models import User
from botdesk.db.types import utcnow
from tests.factories import make_user


def test_five_failures_lock_for_fifteen_minutes_then_the_count_restarts(db):
    user = make_user(db, username="sam")
    start = utcnow()
    with db.writing() as session:
        row = session.get(User, user.id)
        locks = [lockout.record_failure(session=session, user=row, now=start) for _ in range(5)]
    assert locks == [False, False, False, False, True]
    with db.reading() as session:
        row = session.get(User, user.id)
    assert row.locked_until == start + timedelta(minutes=15)
    assert lockout.locked_until(row, now=start + timedelta(minutes=14, seconds=59))
    assert lockout.locked_until(row, now=start + timedelta(minutes=15, seconds=1)) is None
    later = start + timedelta(minutes=16)
    with db.writing() as session:
        row = session.get(User, user.id)
        assert not lockout.record_failure(session=session, user=row, now=later)
    assert lockout.locked_until(row, now=later) is None


def test_unlock_clears_the_lock_and_the_count(db):
    user = make_user(db, username="tia", failed_attempts=3, locked_until=utcnow() + timedelta(1))
    with db.writing() as session:
        lockout.unlock(session=session, user=session.get(User, user.id))
    with db.reading() as session:
        row = session.get(User, user.id)
    assert (row.failed_attempts, row.locked_until, lockout.locked_until(row)) == (0, None, None)
