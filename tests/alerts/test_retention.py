"""The watchdog's hourly retention job on a real database: log lines past their days and
idempotency keys past BOTDESK_IDEMPOTENCY_KEY_HOURS go, younger ones stay."""

from datetime import timedelta

from sqlmodel import col, select

from botdesk.alerts.watchdog import build_scheduler
from botdesk.db import log_entries
from botdesk.db.models import ApiKey, IdempotencyKey, LogEntry
from botdesk.db.types import utcnow
from botdesk.settings import Settings
from tests.factories import make_api_key, make_user


def key_row(api_key_id: int, name: str, age: timedelta) -> IdempotencyKey:
    return IdempotencyKey(
        api_key_id=api_key_id,
        key=name,
        fingerprint="0" * 64,
        method="POST",
        path="/api/v1/orders",
        status=202,
        answer="",
        created_at=utcnow() - age,
    )


def test_the_retention_job_removes_old_idempotency_keys_and_log_lines(db, database_url):
    make_api_key(db, make_user(db, role="trader"), "trade")
    with db.writing() as session:
        api_key_id = session.exec(select(ApiKey.id)).one()
        for name, hours in (("fresh", 1), ("almost", 5.9), ("stale", 6.1), ("ancient", 900)):
            session.add(key_row(api_key_id, name, timedelta(hours=hours)))
        line = {"process": "web", "level": "ERROR", "logger": "t", "bot_id": None, "host": "h"}
        log_entries.write(
            session=session,
            rows=[
                {**line, "message": "old", "at": utcnow() - timedelta(days=3)},
                {**line, "message": "new", "at": utcnow()},
            ],
        )
    settings = Settings(DATABASE_URL=database_url, IDEMPOTENCY_KEY_HOURS=6, LOG_RETENTION_DAYS=2)
    scheduler = build_scheduler(settings, db)
    scheduler.get_job("retention").func()  # as the watchdog runs it, hourly
    with db.reading() as session:
        keys = session.exec(select(IdempotencyKey.key).order_by(col(IdempotencyKey.id))).all()
        lines = session.exec(select(LogEntry.message)).all()
    assert keys == ["fresh", "almost"]
    assert lines == ["new"]
