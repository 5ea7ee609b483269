"""The quiet bots' rows (`botdesk.engine.batch.quiet_rows`): written with set-based
statements, the snapshots found by any query the batch's session runs after they were
recorded, the cursors written once at the close and not a second time by the ORM."""

from decimal import Decimal

from sqlmodel import col, func, select

from botdesk.db.models import Bot, BotState, EquitySnapshot, Position
from botdesk.db.types import utcnow
from botdesk.engine.accounts import Account, snapshot_values
from botdesk.engine.batch import quiet_rows
from botdesk.engine.batch.quiet_rows import QuietRows, refers_to_snapshots
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


def test_a_query_is_known_to_read_the_snapshots_by_its_shape(monkeypatch):
    """Each shape of query is looked through once: the same query with other values is
    known from then on; another shape (another table, a subquery) is looked through."""
    looked = []
    through = quiet_rows._looked_through
    monkeypatch.setattr(quiet_rows, "_looked_through", lambda s: looked.append(s) or through(s))
    monkeypatch.setattr(quiet_rows, "_shapes", {})

    def latest(bot_id: int):
        return select(EquitySnapshot.id).where(EquitySnapshot.bot_id == bot_id).limit(1)

    assert refers_to_snapshots(latest(1))
    assert refers_to_snapshots(latest(2))
    assert len(looked) == 1
    assert not refers_to_snapshots(select(Position).where(Position.bot_id == 1))
    assert not refers_to_snapshots(select(Position).where(Position.bot_id == 2))
    assert len(looked) == 2
    highest = select(func.max(EquitySnapshot.equity)).scalar_subquery()
    assert refers_to_snapshots(select(Position.id).where(col(Position.cost_basis) < highest))
    assert len(looked) == 3
