"""The quiet bots' rows (`botdesk.engine.batch.quiet_rows`): written with set-based
statements, the snapshots found by any query the batch's session runs after they were
recorded, the cursors written once at the close and not a second time by the ORM."""

from decimal import Decimal

from sqlmodel import select

from botdesk.db.models import Bot, BotState, EquitySnapshot
from botdesk.db.types import utcnow
from botdesk.engine.accounts import Account, snapshot_values
from botdesk.engine.batch.quiet_rows import QuietRows
from tests.factories import make_bot

FLAT = Account(
    cash=Decimal("10000"), realized_pnl=Decimal(0), fees=Decimal(0),
    exposure=Decimal(0), unrealized_pnl=Decimal(0),
)  # fmt: skip


def _snapshots(session, bot_id: int) -> list[tuple]:
    return session.exec(
        select(EquitySnapshot.candle_open_ms, EquitySnapshot.equity).where(
            EquitySnapshot.bot_id == bot_id
        )
    ).all()


def test_the_rows_are_there_for_the_next_query_and_written_once(db):
    bot = make_bot(db, state=BotState.RUNNING)
    with db.writing() as session:
        row = session.get(Bot, bot.id)
        rows = QuietRows(session, 60_000)
        rows.snapshot(snapshot_values(bot=row, at=utcnow(), candle_open_ms=60_000, state=FLAT))
        rows.cursor(row)
        assert row.last_candle_ms == 60_000
        assert not session.dirty  # the ORM has nothing of the cursor left to write
        # a breach looking up the snapshot it recorded finds it
        assert _snapshots(session, bot.id) == [(60_000, Decimal("10000"))]
        rows.snapshot(snapshot_values(bot=row, at=utcnow(), candle_open_ms=60_000, state=FLAT))
        rows.close()
    with db.reading() as session:
        assert len(_snapshots(session, bot.id)) == 2
        assert session.get(Bot, bot.id).last_candle_ms == 60_000
