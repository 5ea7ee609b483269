"""Warning and error lines kept in the database: written in batches by the log handler
(secrets redacted, info lines left out, the bot's id kept), pruned by age and count,
filtered as the Logs page and its CSV export read them."""

import logging
from datetime import timedelta

import pytest
from sqlmodel import select

from botdesk.db import log_entries
from botdesk.db.log_entries import BadFilter, LogFilter
from botdesk.db.models import LogEntry
from botdesk.db.types import utcnow
from botdesk.logs import DatabaseLogHandler, RedactSecrets


def lines(db) -> list[LogEntry]:
    with db.reading() as session:
        return list(session.exec(select(LogEntry).order_by(LogEntry.id)))


def test_warnings_and_errors_are_kept_with_their_bot_and_secrets_redacted(db):
    handler = DatabaseLogHandler("engine", database=db, background=False)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("botdesk.test.kept")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.info("not kept")
        logger.warning("bot %s refused: %s", "alpha", "too big", extra={"bot_id": 7})
        key = "bd_0123abcd_" + "x" * 43
        logger.error("key %s failed", key)
        try:
            raise ValueError("boom")
        except ValueError:
            logger.exception("candle failed")
        assert handler.flush_now() == 3
    finally:
        logger.removeHandler(handler)
    kept = lines(db)
    assert [(row.process, row.level, row.bot_id) for row in kept] == [
        ("engine", "WARNING", 7),
        ("engine", "ERROR", None),
        ("engine", "ERROR", None),
    ]
    assert kept[0].message == "bot alpha refused: too big"
    assert kept[1].message == "key bd_0123abcd_<redacted> failed"
    assert "ValueError: boom" in kept[2].message and kept[2].logger == "botdesk.test.kept"


def write(db, **fields):
    row = {
        "at": utcnow(),
        "process": "engine",
        "level": "WARNING",
        "logger": "x",
        "bot_id": None,
        "host": "h",
        "message": "m",
    }
    row.update(fields)
    with db.writing() as session:
        log_entries.write(session=session, rows=[row])


def test_old_lines_and_lines_past_the_limit_are_pruned(db):
    write(db, message="old", at=utcnow() - timedelta(days=15))
    for number in range(5):
        write(db, message=f"new {number}")
    with db.writing() as session:
        assert log_entries.prune(session=session, days=14, keep_rows=3) == 3
    assert [row.message for row in lines(db)] == ["new 2", "new 3", "new 4"]


def test_filters_narrow_the_lines(db):
    write(db, process="engine", level="ERROR", bot_id=3, message="strategy blew up")
    write(db, process="web", level="WARNING", message="slow 100% of the time")
    write(db, process="watchdog", level="WARNING", message="delivery failed")
    with db.reading() as session:

        def found(**query):
            chosen = LogFilter.from_query(query)
            return [row.message for row in log_entries.search(session=session, filters=chosen)]

        assert found(process="engine") == ["strategy blew up"]
        assert found(level="warning") == ["delivery failed", "slow 100% of the time"]
        assert found(bot="3") == ["strategy blew up"]
        assert found(text="100%") == ["slow 100% of the time"]
        assert found(text="_") == []  # a wildcard typed is a character searched for
        assert found(text="DELIVERY") == ["delivery failed"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"process": "kernel"}, "process must be one of"),
        ({"level": "INFO"}, "level must be one of"),
        ({"bot": "x1"}, "bot must be a bot's id"),
        ({"bot": "99999999999"}, "bot must be a bot's id"),
        ({"text": "y" * 201}, "text is at most 200"),
    ],
)
def test_bad_filters_are_explained(query, message):
    with pytest.raises(BadFilter, match=message):
        LogFilter.from_query(query)
