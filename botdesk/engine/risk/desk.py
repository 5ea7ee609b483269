"""The desk-wide figures a candle batch's risk checks need (exposure, open positions, the
desk's P&L today), read once per batch and moved along bot by bot, so that an entry's
check asks the database only about its own bot.

Exact as the per-bot path is: the figures are read when the batch begins and each bot's
change is added when it is done (`bot_done`), so bot k sees every earlier bot's fills and
marks, as it would reading the database; the bot being processed is counted as it stands
at the moment of its check (`DeskFigures.now`), so an exit filled earlier in its own
candle is seen. A batch installs its figures in its session (`use`); the entry checks
(`botdesk.engine.risk.limits`) take them from there for the bot they were begun for, and
read the database as before when there are none.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlmodel import Session

from botdesk.engine.risk import measures
from botdesk.engine.risk.entries import PastEntries

ZERO = Decimal(0)
_KEY = "botdesk.desk_figures"  # in session.info while a batch runs


@dataclass(frozen=True)
class BotStanding:
    """One bot's part of the desk's figures, as the batch read it before its candle."""

    bot_id: int
    exposure: Decimal  # its open positions at their stored price, every symbol
    open_positions: int
    equity: Decimal
    baseline: Decimal  # its equity at 00:00 UTC today (`measures.day_baseline`)
    peak: Decimal | None  # `measures.stored_peak` before this candle's snapshot
    # its past entries, when the batch read them (`entries.read_past_entries`)
    entries: PastEntries | None = None


@dataclass(frozen=True)
class DeskNow:
    """The desk's figures at the moment of one bot's entry check."""

    exposure: Decimal
    open_positions: int
    daily_pnl: Decimal | None  # None: not read (no desk-wide daily loss limit)


class DeskFigures:
    def __init__(self, session: Session, at: datetime, *, pnl_needed: bool):
        self.exposure, self.open_positions, self.daily_pnl = measures.desk_standing(
            session=session, at=at, pnl_needed=pnl_needed
        )
        self.current: BotStanding | None = None

    def begin(self, standing: BotStanding) -> None:
        """The batch starts `standing.bot_id`'s candle."""
        self.current = standing

    def now(self, *, exposure: Decimal, open_positions: int, equity: Decimal) -> DeskNow:
        """The desk's figures with the current bot as it stands now (`exposure`, its
        `open_positions` and `equity` read by the check)."""
        bot = self.current
        pnl = None
        if self.daily_pnl is not None:
            pnl = self.daily_pnl + equity - bot.equity
        return DeskNow(
            exposure=self.exposure - bot.exposure + exposure,
            open_positions=self.open_positions - bot.open_positions + open_positions,
            daily_pnl=pnl,
        )

    def desk_pnl(self, equity: Decimal) -> Decimal:
        """The desk's P&L today with the current bot at `equity` (the breaches' check)."""
        if self.daily_pnl is None:
            raise RuntimeError("the desk's P&L was not read for this batch")
        return self.daily_pnl + equity - self.current.equity

    def bot_done(self, *, exposure: Decimal, open_positions: int, equity: Decimal) -> None:
        """The current bot finished its candle at these figures: the desk moves with it."""
        bot = self.current
        self.exposure += exposure - bot.exposure
        self.open_positions += open_positions - bot.open_positions
        if self.daily_pnl is not None:
            self.daily_pnl += equity - bot.equity
        self.current = None


@contextmanager
def use(session: Session, figures: DeskFigures) -> Iterator[DeskFigures]:
    """Install `figures` in `session` for the entry checks while the batch runs."""
    session.info[_KEY] = figures
    try:
        yield figures
    finally:
        session.info.pop(_KEY, None)


def for_bot(session: Session, bot_id: int) -> DeskFigures | None:
    """The batch's figures if `bot_id` is the bot the batch is processing, else None."""
    figures = session.info.get(_KEY)
    if figures is None or figures.current is None or figures.current.bot_id != bot_id:
        return None
    return figures
