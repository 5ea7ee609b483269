"""Warning and error lines of every process, kept in the database so the desk's Logs page
shows them whatever machine wrote them. Written in batches by `logs.DatabaseLogHandler`,
pruned by the watchdog (BOTDESK_LOG_RETENTION_DAYS and _ROWS)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import delete, insert
from sqlmodel import Session, col, func, select

from botdesk.db.models import LogEntry
from botdesk.db.types import utcnow

PROCESSES = ("engine", "web", "watchdog", "cli")
LEVELS = ("WARNING", "ERROR", "CRITICAL")
MAX_TEXT = 200


class BadFilter(ValueError):
    """A filter value the log cannot use; the message says which."""


def write(*, session: Session, rows: list[dict]) -> None:
    if rows:
        session.connection().execute(insert(LogEntry), rows)


def prune(*, session: Session, days: int, keep_rows: int, now: datetime | None = None) -> int:
    """Remove lines older than `days` and all but the newest `keep_rows`."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    removed = session.execute(delete(LogEntry).where(col(LogEntry.at) < cutoff)).rowcount
    floor = session.exec(
        select(LogEntry.id).order_by(col(LogEntry.id).desc()).offset(keep_rows).limit(1)
    ).first()
    if floor is not None:
        removed += session.execute(delete(LogEntry).where(col(LogEntry.id) <= floor)).rowcount
    return removed


@dataclass(frozen=True)
class LogFilter:
    process: str | None = None
    level: str | None = None
    bot_id: int | None = None
    text: str | None = None

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> "LogFilter":
        process = (args.get("process") or "").strip() or None
        if process is not None and process not in PROCESSES:
            raise BadFilter(f"process must be one of {', '.join(PROCESSES)}, not {process!r}")
        level = (args.get("level") or "").strip().upper() or None
        if level is not None and level not in LEVELS:
            raise BadFilter(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
        bot = (args.get("bot") or "").strip()
        if bot and (not bot.isdigit() or int(bot) > 2**31 - 1):
            raise BadFilter(f"bot must be a bot's id, not {bot[:20]!r}")
        text = (args.get("text") or "").strip() or None
        if text is not None and len(text) > MAX_TEXT:
            raise BadFilter(f"text is at most {MAX_TEXT} characters")
        return cls(process=process, level=level, bot_id=int(bot) if bot else None, text=text)

    def query_string(self) -> str:
        pairs = {
            "process": self.process,
            "level": self.level,
            "bot": self.bot_id,
            "text": self.text,
        }
        return urlencode({key: value for key, value in pairs.items() if value})

    def apply(self, query):
        if self.process:
            query = query.where(LogEntry.process == self.process)
        if self.level:
            query = query.where(LogEntry.level == self.level)
        if self.bot_id is not None:
            query = query.where(LogEntry.bot_id == self.bot_id)
        if self.text:
            escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(col(LogEntry.message).ilike(f"%{escaped}%", escape="\\"))
        return query


def search(
    *, session: Session, filters: LogFilter, limit: int = 500, after_id: int | None = None
) -> list[LogEntry]:
    """The newest lines matching, newest first; with after_id only the lines after it."""
    query = filters.apply(select(LogEntry))
    if after_id is not None:
        query = query.where(col(LogEntry.id) > after_id)
    return list(session.exec(query.order_by(col(LogEntry.id).desc()).limit(limit)))


def newest_id(*, session: Session) -> int | None:
    return session.exec(select(func.max(LogEntry.id))).one()
