"""The stream's change log: stream_event, filled by triggers on the streamed tables

Revision ID: stream_1
Revises: ml_1

- stream_event (id, seq, channel, row_id, symbol, timeframe, at_ms): one row per change a
  /api/v1/stream client may be told of, written by an AFTER trigger in the transaction
  that made the change (engine, desk or CLI alike); `seq` is stamped by the desk's poller.
- Triggers: inserts of signal, order, fill, position, risk_event, candle, command and
  audit_log; updates of signal.status, order.status/filled_quantity, position.status/
  quantity/stop_price/take_profit, command.status and engine_state.kill_switch_engaged
  (a position's mark-to-market on every price is not an event).
- PostgreSQL: the trigger also NOTIFYs `botdesk_stream` (delivered at commit, once per
  transaction), which wakes the desk's stream pollers at once instead of at their next tick.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "stream_1"
down_revision: str | None = "ml_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (channel, columns whose change is an event on UPDATE; () for inserts only)
STREAMED = {
    "signal": ("signals", ("status",)),
    "order": ("orders", ("status", "filled_quantity")),
    "fill": ("fills", ()),
    "position": ("positions", ("status", "quantity", "stop_price", "take_profit")),
    "risk_event": ("risk_events", ()),
    "engine_state": ("kill_switch", ("kill_switch_engaged",)),
    "candle": ("candles", ()),
    "command": ("commands", ("status",)),
    "audit_log": ("audit", ()),
}
NO_INSERT_EVENT = {"engine_state"}  # its one row is made by the first migration
SQLITE_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
POSTGRES_FUNCTION = """
CREATE FUNCTION stream_event_log() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'candle' THEN
        INSERT INTO stream_event (channel, row_id, symbol, timeframe, at_ms)
        VALUES (TG_ARGV[0], NEW.open_time_ms, NEW.symbol, NEW.timeframe,
                (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    ELSE
        INSERT INTO stream_event (channel, row_id, at_ms)
        VALUES (TG_ARGV[0], NEW.id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint);
    END IF;
    PERFORM pg_notify('botdesk_stream', '');  -- sent at commit, once per transaction
    RETURN NULL;
END; $$ LANGUAGE plpgsql
"""


def _sqlite_triggers(table: str, channel: str, watched: tuple[str, ...]) -> list[str]:
    if table == "candle":
        values = f"'{channel}', NEW.open_time_ms, NEW.symbol, NEW.timeframe, {SQLITE_NOW_MS}"
    else:
        values = f"'{channel}', NEW.id, NULL, NULL, {SQLITE_NOW_MS}"
    body = (
        "BEGIN INSERT INTO stream_event (channel, row_id, symbol, timeframe, at_ms) "
        f"VALUES ({values}); END"
    )
    statements = []
    if table not in NO_INSERT_EVENT:
        statements.append(f'CREATE TRIGGER stream_{table}_insert AFTER INSERT ON "{table}" {body}')
    if watched:
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in watched)
        statements.append(
            f'CREATE TRIGGER stream_{table}_update AFTER UPDATE ON "{table}" '
            f"FOR EACH ROW WHEN {changed} {body}"
        )
    return statements


def _postgres_triggers(table: str, channel: str, watched: tuple[str, ...]) -> list[str]:
    run = f"FOR EACH ROW EXECUTE FUNCTION stream_event_log('{channel}')"
    statements = []
    if table not in NO_INSERT_EVENT:
        statements.append(f'CREATE TRIGGER stream_{table}_insert AFTER INSERT ON "{table}" {run}')
    if watched:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
        statements.append(
            f'CREATE TRIGGER stream_{table}_update AFTER UPDATE ON "{table}" '
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION stream_event_log('{channel}')"
        )
    return statements


def upgrade() -> None:
    op.create_table(
        "stream_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=20), nullable=True),
        sa.Column("timeframe", sa.String(length=8), nullable=True),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("uq_stream_event_seq", "stream_event", ["seq"], unique=True)
    op.create_index("ix_stream_event_at_ms", "stream_event", ["at_ms"])
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(POSTGRES_FUNCTION)
    for table, (channel, watched) in STREAMED.items():
        make = _postgres_triggers if postgres else _sqlite_triggers
        for statement in make(table, channel, watched):
            op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in STREAMED:
        for verb in ("insert", "update"):
            on = f' ON "{table}"' if postgres else ""
            op.execute(f"DROP TRIGGER IF EXISTS stream_{table}_{verb}{on}")
    if postgres:
        op.execute("DROP FUNCTION IF EXISTS stream_event_log()")
    op.drop_index("ix_stream_event_at_ms", table_name="stream_event")
    op.drop_index("uq_stream_event_seq", table_name="stream_event")
    op.drop_table("stream_event")
