"""The quiet bots' rows of one candle batch, their equity snapshots and cursors, written
with two set-based statements (one multi-row insert, one update of the cursors), outside
the ORM's unit of work but in the batch's transaction: a quiet bot's candle costs a dict
and an id in a list, not two ORM objects and their share of a flush. The bots that act write
their cursor here too (`trading.process_candle` with `rows`).

As the ORM's autoflush does for its own rows, the snapshots are written before the
session runs any query that reads the snapshot table, so whatever the transaction reads
finds them (a drawdown breach records the id of the snapshot that breached; a bot's day
baseline and drawdown peak are read from them), and at the latest when the batch closes
them (`close`): most batches write all their snapshots with one insert. Whether a query
refers to the snapshot table is known by its shape (`refers_to_snapshots`), so each shape
of query is looked through once per process, not at every run. The cursors,
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
SHAPES_KEPT = 10_000  # distinct query shapes: a few hundred in the engine's code

_shapes: dict[tuple, bool] = {}  # a query's shape -> it refers to the snapshot table


def refers_to_snapshots(statement) -> bool:
    """Whether `statement` reads or writes the snapshot table (in a join, a subquery, a
    CTE...). Its shape is its SQLAlchemy cache key, which names every table and column
    and leaves out only the bound values (and which SQLAlchemy computes for the statement
    anyway, once, to find its compiled form): queries of one shape refer to the same
    tables, so a shape is looked through once."""
    key = statement._generate_cache_key()
    if key is None:  # a statement SQLAlchemy does not cache: looked through each time
        return _looked_through(statement)
    found = _shapes.get(key.key)
    if found is None:
        if len(_shapes) >= SHAPES_KEPT:
            _shapes.clear()
        found = _shapes[key.key] = _looked_through(statement)
    return found


def _looked_through(statement) -> bool:
    return SNAPSHOTS in find_tables(
        statement, include_aliases=True, include_joins=True, include_crud=True
    )


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
        if self._snapshots and refers_to_snapshots(state.statement):
            self.write()
