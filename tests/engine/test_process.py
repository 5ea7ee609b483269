"""The engine as a real process: beats, consumes commands from another process, stops
cleanly, lists its feed's symbols (and starts no bot on another)."""

import json
import signal

import pytest
from sqlmodel import select

from botdesk.db import commands, engine_state, feed_listings
from botdesk.db.models import Bot, Command, CommandStatus, EngineInstance, FeedListing
from botdesk.db.session import Database
from botdesk.db.types import utcnow
from tests.conftest import make_env
from tests.factories import make_bot
from tests.fake_binance import FakeBinance, load_klines
from tests.processes import wait_until

pytestmark = pytest.mark.integration


def _issue(db, kind: str, **fields) -> int:
    with db.writing() as session:
        return commands.issue(session=session, kind=kind, issued_by="test", **fields).id


def _command(db, command_id: int) -> Command:
    with db.reading() as session:
        return session.get(Command, command_id)


def _beat(db):
    with db.reading() as session:
        return engine_state.get(session=session).last_beat


def test_engine_beats_runs_commands_and_stops_on_sigterm(db, botdesk_env, processes):
    engine = processes.start(["engine"], botdesk_env)
    first = wait_until(lambda: _beat(db), message="first heartbeat")
    wait_until(lambda: _beat(db) > first, timeout=5, message="heartbeat advancing")

    ping = _issue(db, "engine.ping")
    unknown = _issue(db, "bot.teleport", target="bot:1")
    done = wait_until(
        lambda: _command(db, ping).finished_at and _command(db, ping), message="ping finished"
    )
    assert done.status == CommandStatus.DONE
    assert done.result.startswith("pong from engine")
    assert done.acked_at <= done.finished_at
    failed = wait_until(
        lambda: _command(db, unknown).finished_at and _command(db, unknown),
        message="unknown command finished",
    )
    assert failed.status == CommandStatus.FAILED
    assert "unknown command kind 'bot.teleport'" in failed.result
    assert "engine.ping" in failed.result  # tells the operator what exists

    assert engine.stop(signal.SIGTERM) == 0
    assert "stopped" in engine.output()
    with db.reading() as session:
        instance = session.exec(select(EngineInstance)).one()
    assert instance.stopped_at is not None


def test_sigint_also_stops_the_engine_cleanly(db, botdesk_env, processes):
    engine = processes.start(["engine"], botdesk_env)
    wait_until(lambda: _beat(db), message="first heartbeat")
    assert engine.stop(signal.SIGINT) == 0


def test_a_second_engine_on_the_same_sqlite_file_refuses_to_start(sqlite_url, tmp_path, processes):
    env = make_env(sqlite_url, tmp_path)
    first = processes.start(["engine"], env, name="first")
    db = Database(sqlite_url)
    wait_until(lambda: _beat(db), message="first engine beating")
    second = processes.start(["engine"], env, name="second")
    second.proc.wait(timeout=60)
    assert second.proc.returncode == 1
    assert "another engine is already running" in second.output()
    assert f"pid {first.proc.pid}" in second.output()
    assert first.alive()
    db.dispose()


def test_engine_refuses_an_unmigrated_database(tmp_path, processes):
    env = make_env(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path)
    engine = processes.start(["engine"], env)
    engine.proc.wait(timeout=60)
    assert engine.proc.returncode == 1
    assert "botdesk db upgrade" in engine.output()


def test_a_command_left_running_by_a_dead_engine_is_re_examined_once(db, botdesk_env, processes):
    with db.writing() as session:
        session.add(
            EngineInstance(id="dead-engine", hostname="h", pid=1, feed="replay", last_beat=utcnow())
        )
        stranded = commands.issue(session=session, kind="engine.ping", issued_by="test")
        session.flush()
        commands.claim(session=session, command_id=stranded.id, engine_id="dead-engine")
    if not db.is_sqlite:
        # on PostgreSQL other engines may be alive: only a stale one's commands are resumed
        with db.writing() as session:
            session.get(EngineInstance, "dead-engine").stopped_at = utcnow()
    processes.start(["engine"], botdesk_env)
    finished = wait_until(
        lambda: _command(db, stranded.id).finished_at and _command(db, stranded.id),
        message="stranded command finished",
    )
    assert finished.status == CommandStatus.DONE
    assert "resumed after an engine restart" in finished.result
    assert finished.attempts == 2
    assert finished.claimed_by != "dead-engine"
    assert json.loads(finished.params) == {}


def _listing(db, feed: str):
    with db.reading() as session:
        return feed_listings.offer(session=session, feed=feed)


def test_the_engine_lists_its_feeds_symbols_and_starts_no_bot_on_another(
    db, botdesk_env, processes
):
    doge = make_bot(db, name="doge", symbol="DOGEUSDT")  # saved before any listing existed
    processes.start(["engine"], botdesk_env)
    listing = wait_until(lambda: _listing(db, "replay"), message="the replay's listing")
    assert listing.symbols == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    with db.reading() as session:
        [instance] = session.exec(select(EngineInstance)).all()
        assert session.get(FeedListing, "replay").engine_id == instance.id
    start = _issue(db, "bot.start", target=f"bot:{doge.id}")
    failed = wait_until(
        lambda: _command(db, start).finished_at and _command(db, start), message="start done"
    )
    assert failed.status == CommandStatus.FAILED
    assert failed.result == (
        "cannot run doge: the replay feed has no DOGEUSDT (it offers BTCUSDT, ETHUSDT, SOLUSDT)"
    )
    with db.reading() as session:
        assert session.get(Bot, doge.id).status == "stopped"


def test_an_engine_on_binance_lists_exchangeinfos_symbols(db, tmp_path, processes):
    klines = {
        "BTCUSDT": load_klines("BTCUSDT-1m.csv", 50),
        "ETHUSDT": load_klines("ETHUSDT-1m.csv", 50),
    }
    with FakeBinance(klines=klines, start_index=10, stream=True) as fake:
        env = make_env(
            db.url,
            tmp_path,
            BOTDESK_FEED="binance",
            BOTDESK_BINANCE_REST_URL=fake.base_url,
            BOTDESK_BINANCE_STREAM_URL=fake.stream.url,
        )
        processes.start(["engine"], env)
        listing = wait_until(lambda: _listing(db, "binance"), message="Binance's listing")
    assert listing.symbols == {"BTCUSDT", "ETHUSDT"}
    assert "exchangeInfo" in listing.source
