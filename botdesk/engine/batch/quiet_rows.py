"""The quiet bots' rows of one candle batch, their equity snapshots and cursors, written
with two set-based statements (one multi-row insert, one update of the cursors), outside
the ORM's unit of work but in the batch's transaction: a quiet bot's candle costs a dict
and an id in a list, not two ORM objects and their share of a flush. The bots that act write
their cursor here too (`trading.process_candle` with `rows`).

As the ORM's autoflush does for its own rows, the snapshots are written before the
session runs any query that reads the snapshot table, so whatever the transaction reads
finds them (a drawdown breach records the id of the snapshot that breached; a bot's day
baseline and drawdown peak are read from them), and at the latest when the batch closes
them (`close`): most batches write all their snapshots with one insert. The cursors,
which nothing in the batch reads back (each bot's loaded row already holds its own), are
written once, by `close`: one update for the whole batch."""

from sqlalchemy import event, insert, update
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session

from botdesk.db.models import Bot, EquitySnapshot

SNAPSHOTS = EquitySnapshot.__table__
BOTS = Bot.__table__


class QuietRows:
    def __init__(self, session: Session, candle_open_ms: int):
        self.session = session
        self.candle_open_ms = candle_open_ms
        self._snapshots: list[dict] = []
        self._cursors: list[int] = []
        event.listen(session, "do_orm_execute", self._before_query)

    def snapshot(self, values: dict) -> None:
        """An equity snapshot's columns (`accounts.snapshot_values`), inserted later."""
        self._snapshots.append(values)

    def cursor(self, bot: Bot) -> None:
        """The bot's cursor moves to this candle; its loaded row says so already, as the
        value the database holds (so the ORM does not write it a second time)."""
        set_committed_value(bot, "last_candle_ms", self.candle_open_ms)
        self._cursors.append(bot.id)

    def write(self) -> None:
        """The snapshots so far."""
        snapshots, self._snapshots = self._snapshots, []
        if snapshots:
            self.session.connection().execute(insert(SNAPSHOTS), snapshots)

    def close(self) -> None:
        """Write what is left, and the cursors; the session's queries no longer wait on
        these rows."""
        self.write()
        cursors, self._cursors = self._cursors, []
        if cursors:
            self.session.connection().execute(
                update(BOTS)
                .where(BOTS.c.id.in_(cursors))
                .values(last_candle_ms=self.candle_open_ms)
            )
        event.remove(self.session, "do_orm_execute", self._before_query)

    def _before_query(self, state: ORMExecuteState) -> None:
        if self._snapshots and SNAPSHOTS in find_tables(
            state.statement, include_aliases=True, include_joins=True, include_crud=True
        ):
            self.write()
