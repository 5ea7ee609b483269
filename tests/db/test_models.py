"""The contract tables on both databases: exact money, UTC time, constraints, append-only audit."""

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import SQLModel, select

from botdesk.db import audit, engine_state
from botdesk.db.models import ALL_TABLES, AuditLog, Fill, Order, User
from botdesk.db.session import Database
from botdesk.db.types import MoneyPrecisionError
from tests.factories import make_bot, make_user


def _order(db: Database, bot_id: int, client_order_id: str = "cid-1") -> Order:
    with db.writing() as session:
        order = Order(
            bot_id=bot_id,
            client_order_id=client_order_id,
            symbol="BTCUSDT",
            side="buy",
            quantity=Decimal("0.5"),
        )
        session.add(order)
    return order


def test_every_design_table_exists(db):
    with db.reading() as session:
        for table in ALL_TABLES:
            session.execute(text(f'SELECT COUNT(*) FROM "{table}"'))


def test_money_round_trips_exactly_and_sums_without_drift(db):
    bot = make_bot(db)
    order = _order(db, bot.id)
    with db.writing() as session:
        for number in range(1000):
            session.add(
                Fill(
                    order_id=order.id,
                    bot_id=bot.id,
                    trade_id=f"t{number}",
                    symbol="BTCUSDT",
                    side="buy",
                    quantity=Decimal("0.1"),
                    price=Decimal("63443.76"),
                    fee=Decimal("0.00000001"),
                )
            )
    with db.reading() as session:
        fill = session.exec(select(Fill).where(Fill.trade_id == "t7")).one()
        total_qty = session.exec(select(func.sum(Fill.quantity))).one()
        total_fee = session.exec(select(func.sum(Fill.fee))).one()
    assert fill.price == Decimal("63443.76")
    assert fill.quantity == Decimal("0.1")
    # 1000 x 0.1 in binary floating point is 99.9999999999986; the ledger must say 100.
    assert sum(0.1 for _ in range(1000)) != 100
    assert total_qty == Decimal("100")
    assert total_fee == Decimal("0.00001")


def test_money_refuses_floats_and_hidden_rounding(db):
    bot = make_bot(db)
    with pytest.raises(StatementError) as float_error, db.writing() as session:
        session.add(
            Order(bot_id=bot.id, client_order_id="f", symbol="BTCUSDT", side="buy", quantity=0.1)
        )
    assert isinstance(float_error.value.orig, TypeError)
    with pytest.raises(StatementError) as precision_error, db.writing() as session:
        session.add(
            Order(
                bot_id=bot.id,
                client_order_id="p",
                symbol="BTCUSDT",
                side="buy",
                quantity=Decimal("0.123456789"),
            )
        )
    assert isinstance(precision_error.value.orig, MoneyPrecisionError)


def test_times_are_stored_and_returned_in_utc(db):
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 3, 1, 13, 30, tzinfo=paris)
    user = make_user(db, locked_until=moment)
    with db.reading() as session:
        stored = session.get(User, user.id).locked_until
    assert stored == moment
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 12
    with pytest.raises(StatementError), db.writing() as session:
        session.add(AuditLog(actor="x", action="y", at=datetime(2026, 1, 1)))


def test_constraints_refuse_bad_values(db):
    with pytest.raises(IntegrityError), db.writing() as session:
        session.add(User(username="mallory", password_hash="x", role="superuser"))
    bot = make_bot(db)
    _order(db, bot.id, "same-id")
    with pytest.raises(IntegrityError):
        _order(db, bot.id, "same-id")


def test_audit_log_refuses_update_and_delete(db):
    with db.writing() as session:
        row = audit.record(session=session, actor="alice", action="login.ok")
    with pytest.raises(Exception, match="append-only"), db.writing() as session:
        session.execute(
            text("UPDATE audit_log SET actor = 'mallory' WHERE id = :id"), {"id": row.id}
        )
    with pytest.raises(Exception, match="append-only"), db.writing() as session:
        session.execute(text("DELETE FROM audit_log"))
    with db.reading() as session:
        assert session.get(AuditLog, row.id).actor == "alice"


def test_engine_state_row_is_created_by_the_migration(db):
    with db.reading() as session:
        state = engine_state.get(session=session)
    assert state.id == 1
    assert state.kill_switch_engaged is False
    assert state.last_beat is None


def test_migrations_match_the_models(db):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_sessions_commit_or_roll_back_as_a_whole(db):
    with pytest.raises(RuntimeError), db.writing() as session:
        audit.record(session=session, actor="alice", action="half.done")
        session.flush()
        raise RuntimeError("boom")
    with db.reading() as session:
        count = session.exec(select(func.count()).select_from(AuditLog)).one()
    assert count == 0
