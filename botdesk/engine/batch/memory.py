"""What the batched candle path keeps of each bot between its candles: its equity at
00:00 UTC today and its drawdown peak, both of which only the bot's own candles change.

An entry is trusted only while the bot's cursor is where this engine left it: a bot that
another engine (or an earlier life of this one) moved on is read afresh from the
database, and so is one whose state a breach or an operator changed.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.models import Bot
from botdesk.engine.risk import measures


@dataclass
class BotMemory:
    cursor_ms: int  # the candle the entry is up to date after
    day: date
    capital: Decimal
    baseline: Decimal  # measures.day_baseline of `day`
    peak: Decimal | None  # measures.stored_peak after the candle at `cursor_ms`
    state: tuple  # (desired state, status, reason) when the entry was written


def _state(bot: Bot) -> tuple:
    return (bot.desired_state, bot.status, bot.status_reason)


class CandleMemory:
    def __init__(self):
        self._bots: dict[int, BotMemory] = {}

    def measures(self, session: Session, bot: Bot, at: datetime) -> tuple[Decimal, Decimal | None]:
        """(equity at 00:00 UTC of `at`'s day, stored drawdown peak) of a bot about to
        process a candle, from memory when it is still exact, else from the database."""
        day = measures.day_start(at).date()
        entry = self._bots.get(bot.id)
        if (
            entry is None
            or entry.cursor_ms != bot.last_candle_ms
            or entry.capital != bot.capital
            or entry.state != _state(bot)
        ):
            entry = self._bots[bot.id] = BotMemory(
                cursor_ms=bot.last_candle_ms,
                day=day,
                capital=bot.capital,
                baseline=measures.day_baseline(session=session, bot=bot, at=at),
                peak=measures.stored_peak(session=session, bot_id=bot.id),
                state=_state(bot),
            )
        elif entry.day != day:
            entry.day = day
            entry.baseline = measures.day_baseline(session=session, bot=bot, at=at)
        return entry.baseline, entry.peak

    def before(self, bot: Bot) -> tuple:
        """What `after` compares with: the bot's cursor and state before its candle."""
        return (bot.last_candle_ms, _state(bot))

    def after(self, bot: Bot, *, candle_open_ms: int, equity: Decimal, before: tuple) -> None:
        """The bot processed a candle and recorded `equity`; `before` is `before(bot)`
        taken first. A changed state (a breach paused it, a drawdown's peak starts afresh)
        or a cursor the entry did not know is read again next time."""
        entry = self._bots.get(bot.id)
        if entry is None:
            return
        cursor, state = before
        if state != _state(bot) or entry.cursor_ms is None or entry.cursor_ms != cursor:
            self._bots.pop(bot.id, None)
            return
        entry.cursor_ms = candle_open_ms
        entry.peak = equity if entry.peak is None else max(entry.peak, equity)

    def forget(self, bot_id: int) -> None:
        self._bots.pop(bot_id, None)
