"""`botdesk db backup` while a real engine trades, `botdesk db restore` into another
database: the ledger there reconciles (each bot's fills add up to its positions' realized
P&L and open quantity); a restore is refused while an engine runs; a file that is not a
backup is refused and changes nothing."""

from collections import defaultdict
from decimal import Decimal

import pytest
from sqlmodel import func, select

from botdesk.db.models import Fill, Position
from botdesk.db.session import Database
from tests.conftest import _fresh_url, make_env
from tests.factories import make_bot
from tests.processes import run_cli, wait_until

pytestmark = pytest.mark.integration


def fills(db) -> int:
    with db.reading() as session:
        return session.exec(select(func.count()).select_from(Fill)).one()


def assert_ledger_reconciles(db) -> None:
    with db.reading() as session:
        realized = defaultdict(Decimal)
        held = defaultdict(Decimal)
        for fill in session.exec(select(Fill)):
            realized[fill.bot_id] += fill.realized_pnl
            held[(fill.bot_id, fill.symbol)] += (
                fill.quantity if fill.side == "buy" else -fill.quantity
            )
        booked = defaultdict(Decimal)
        open_quantity = defaultdict(Decimal)
        for position in session.exec(select(Position)):
            booked[position.bot_id] += position.realized_pnl
            if position.status == "open":
                open_quantity[(position.bot_id, position.symbol)] += position.quantity
    assert dict(realized) == dict(booked)
    assert {k: v for k, v in held.items() if v} == {k: v for k, v in open_quantity.items() if v}


def test_a_backup_taken_while_trading_restores_into_a_reconciling_ledger(
    request, database_url, db, tmp_path, processes
):
    for number in range(6):
        make_bot(
            db,
            symbol=("BTCUSDT", "ETHUSDT")[number % 2],
            params={"fast": 2, "slow": 3 + number % 3, "stop_atr": 0},
            state="running",
        )
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600")
    engine = processes.start(["engine"], env, name="engine")
    wait_until(lambda: fills(db) >= 10, timeout=300, interval=0.2, message="fills")
    target = tmp_path / "backups" / "taken-while-trading.bak"
    taken = run_cli(["db", "backup", "--to", str(target)], env)  # the engine still writes
    assert taken.returncode == 0, taken.stderr
    assert target.stat().st_mode & 0o777 == 0o600

    refused = run_cli(["db", "restore", str(target), "--yes"], env)
    assert refused.returncode != 0 and "an engine is running" in refused.stderr
    engine.stop()

    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    (tmp_path / "other").mkdir()
    other_url = _fresh_url(request, backend, tmp_path / "other")
    other_env = make_env(other_url, tmp_path / "other")
    restored = run_cli(["db", "restore", str(target), "--yes"], other_env)
    assert restored.returncode == 0, restored.stderr
    other = Database(other_url)
    try:
        assert fills(other) >= 10
        assert_ledger_reconciles(other)
    finally:
        other.dispose()


def test_a_file_that_is_not_a_backup_is_refused_and_changes_nothing(sqlite_url, tmp_path):
    db = Database(sqlite_url)
    make_bot(db, name="kept")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    env = make_env(sqlite_url, tmp_path)
    refused = run_cli(["db", "restore", str(junk), "--yes"], env)
    assert refused.returncode != 0 and "not a SQLite database" in refused.stderr
    with db.reading() as session:
        from botdesk.db.models import Bot

        assert [bot.name for bot in session.exec(select(Bot))] == ["kept"]
    db.dispose()


def test_postgres_backup_without_pg_dump_says_what_to_install(monkeypatch):
    from botdesk.db import backup

    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(backup.BackupError, match="pg_dump is not installed"):
        backup.backup("postgresql+psycopg://u@127.0.0.1:1/x", backup.Path("/tmp/never.dump"))


def test_scheduled_backups_keep_the_newest_and_announce_a_failure(sqlite_url, tmp_path):
    from botdesk.alerts.backups import scheduled_backup
    from botdesk.db.models import Notification
    from tests.factories import TEST_SETTINGS

    db = Database(sqlite_url)
    settings = TEST_SETTINGS.model_copy(
        update={"BACKUP_DIR": tmp_path / "scheduled", "BACKUP_KEEP": 2}
    )
    for _ in range(3):
        scheduled_backup(settings, db)
    kept = sorted(path.name for path in (tmp_path / "scheduled").iterdir())
    assert len(kept) == 2 and all(name.endswith(".db") for name in kept)
    (tmp_path / "blocked").write_text("a file where the folder should be")
    scheduled_backup(settings.model_copy(update={"BACKUP_DIR": tmp_path / "blocked"}), db)
    with db.reading() as session:
        (failed,) = session.exec(select(Notification)).all()
    assert failed.kind == "backup.failed" and failed.severity == "critical"
    db.dispose()
