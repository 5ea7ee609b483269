"""User strategies in the engine: one that raises at run time or failed to import puts
only its own bot in error (with where and why), the other bots go on; one that looks
ahead is refused at start unless an admin allowed it on that bot."""

import pytest

from botdesk.db.models import Bot, BotState, CommandStatus
from botdesk.engine.strategies import loader
from tests.engine.driving import Driver, runtime_for, sample
from tests.engine.research.strategy_files import (
    CLEAN,
    PEEKING,
    RAISES_AT_RUNTIME,
    RAISES_ON_IMPORT,
    write,
)
from tests.engine.test_handlers import issue, run
from tests.factories import make_bot

RUNNING = BotState.RUNNING


@pytest.fixture
def folder(tmp_path):
    write(tmp_path, "divides", RAISES_AT_RUNTIME)
    write(tmp_path, "settings_file", RAISES_ON_IMPORT)
    write(tmp_path, "over_sma", CLEAN.format(name="over_sma"))
    write(tmp_path, "next_close", PEEKING)
    loader.load_user_strategies(tmp_path, packages=False)
    yield tmp_path
    loader.load_user_strategies(None, packages=False)


def test_a_failing_user_strategy_stops_only_its_bot(db, folder):
    divides = make_bot(db, strategy="divides", params={"stop_atr": 0}, state=RUNNING)
    # its strategy was in the file that failed to import: unknown, with the reason
    lost = make_bot(db, strategy="from_settings_file", params={"stop_atr": 0}, state=RUNNING)
    mine = make_bot(db, strategy="over_sma", params={"period": 20}, state=RUNNING)
    builtin = make_bot(db, strategy="ema_cross", state=RUNNING)

    Driver(runtime_for(db), {"BTCUSDT": sample("BTCUSDT")[:700]}).run(20)

    with db.reading() as session:
        rows = {bot.id: session.get(Bot, bot.id) for bot in (divides, lost, mine, builtin)}
    assert rows[divides.id].status == BotState.ERROR
    reason = rows[divides.id].status_reason
    assert "strategy divides raised ZeroDivisionError: division by zero" in reason
    assert f"at {folder / 'divides.py'}:14" in reason  # the line in the user's file
    assert rows[lost.id].status == BotState.ERROR
    assert "unknown strategy 'from_settings_file'" in rows[lost.id].status_reason
    assert "settings_file.py failed to load" in rows[lost.id].status_reason
    last = int(sample("BTCUSDT").open_time_ms[619])
    for bot in (mine, builtin):
        assert rows[bot.id].status == RUNNING
        assert rows[bot.id].last_candle_ms == last  # every candle processed


def test_a_peeking_strategy_is_refused_at_start_unless_an_admin_allowed_it(db, folder):
    runtime = runtime_for(db)
    Driver(runtime, {"BTCUSDT": sample("BTCUSDT")[:610]})
    peeking = make_bot(db, strategy="next_close", params={"stop_atr": 0})
    allowed = make_bot(
        db, strategy="next_close", params={"stop_atr": 0}, lookahead_allowed_by="root"
    )
    clean = make_bot(db, strategy="over_sma", params={"period": 20})

    refused = run(runtime, issue(db, "bot.start", f"bot:{peeking.id}"))
    assert refused.status == CommandStatus.FAILED
    assert "failed the lookahead check" in refused.result
    assert "an admin must allow it" in refused.result
    for bot in (allowed, clean):
        assert run(runtime, issue(db, "bot.start", f"bot:{bot.id}")).status == CommandStatus.DONE
    with db.reading() as session:
        assert session.get(Bot, peeking.id).status == BotState.STOPPED
        assert session.get(Bot, allowed.id).status == RUNNING
