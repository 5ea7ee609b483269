"""Desk sessions on both databases: only the token's hash is stored, an ended session is
found no more, ending all of a user's sessions keeps the one asked for, and rows of
sessions long over are removed when a new one starts."""

import hashlib
from datetime import timedelta

from sqlmodel import select

from botdesk.db import desk_sessions
from botdesk.db.models import DeskSession
from botdesk.db.types import utcnow
from tests.factories import make_user


def start(db, user) -> str:
    with db.writing() as session:
        return desk_sessions.start(
            session=session, user_id=user.id, ip="10.0.0.1", user_agent="Firefox" * 60
        )


def found(db, token: str):
    with db.reading_rows() as connection:
        return desk_sessions.open_session(connection=connection, token=token)


def test_only_the_hash_is_stored_and_an_ended_session_is_found_no_more(db):
    user = make_user(db)
    token = start(db, user)
    opened = found(db, token)
    assert opened.user_id == user.id and opened.username == user.username
    with db.reading() as session:
        row = session.get(DeskSession, opened.session_id)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in row.token_hash and len(row.user_agent) == 255
    with db.writing() as session:
        desk_sessions.end(session=session, token=token, reason="signed out")
    assert found(db, token) is None
    with db.reading() as session:
        ended = session.get(DeskSession, row.id)
    assert ended.end_reason == "signed out" and ended.ended_at is not None


def test_ending_all_keeps_the_session_that_asked(db):
    user, other = make_user(db), make_user(db)
    mine, elsewhere, theirs = start(db, user), start(db, user), start(db, other)
    keep = found(db, mine).session_id
    with db.writing() as session:
        assert (
            desk_sessions.end_all(
                session=session, user_id=user.id, reason="password changed", keep=keep
            )
            == 1
        )
    assert found(db, mine) and found(db, theirs) and found(db, elsewhere) is None


def test_rows_of_sessions_long_over_go_when_a_new_one_starts(db):
    user = make_user(db)
    ended_long_ago, abandoned, recent = start(db, user), start(db, user), start(db, user)
    long_ago = utcnow() - timedelta(days=91)
    with db.writing() as session:
        desk_sessions.end(session=session, token=ended_long_ago, reason="signed out")
        for token in (ended_long_ago, abandoned):
            digest = hashlib.sha256(token.encode()).hexdigest()
            row = session.exec(select(DeskSession).where(DeskSession.token_hash == digest)).one()
            row.last_seen_at = row.created_at = long_ago
            row.ended_at = long_ago if token == ended_long_ago else None
            session.add(row)
    start(db, user)
    with db.reading() as session:
        left = session.exec(select(DeskSession)).all()
    assert len(left) == 2 and found(db, recent) and found(db, abandoned) is None
