"""A real engine process with a strategy folder: a file that fails to import and a
strategy that raises while running put only their own bots in error (with the reason and
the traceback in the log), the engine and the other bots go on trading."""

import pytest

from botdesk.db.models import Bot, BotState, Fill
from tests.conftest import make_env
from tests.engine.research.strategy_files import (
    CLEAN,
    RAISES_AT_RUNTIME,
    RAISES_ON_IMPORT,
    write,
)
from tests.engine.test_engine_process import count
from tests.factories import make_bot
from tests.processes import wait_until

pytestmark = pytest.mark.integration
RUNNING = BotState.RUNNING


def test_broken_user_strategies_stop_only_their_bots(db, tmp_path, processes):
    folder = tmp_path / "strategies"
    write(folder, "divides", RAISES_AT_RUNTIME)
    write(folder, "settings_file", RAISES_ON_IMPORT)
    write(folder, "over_sma", CLEAN.format(name="over_sma"))
    divides = make_bot(db, strategy="divides", params={"stop_atr": 0}, state=RUNNING)
    lost = make_bot(db, strategy="from_settings_file", params={"stop_atr": 0}, state=RUNNING)
    mine = make_bot(db, strategy="over_sma", params={"period": 5}, state=RUNNING)
    builtin = make_bot(db, strategy="ema_cross", params={"fast": 3, "slow": 8}, state=RUNNING)
    env = make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="900", BOTDESK_STRATEGY_PATH=str(folder))
    engine = processes.start(["engine"], env)

    def rows():
        with db.reading() as session:
            return {bot.id: session.get(Bot, bot.id) for bot in (divides, lost, mine, builtin)}

    def both_failed_and_others_traded():
        now = rows()
        failed = all(now[b.id].status == BotState.ERROR for b in (divides, lost))
        return failed and all(count(db, Fill, Fill.bot_id == b.id) >= 2 for b in (mine, builtin))

    wait_until(both_failed_and_others_traded, timeout=150, interval=0.5, message="bots")
    now = rows()
    assert "strategy divides raised ZeroDivisionError" in now[divides.id].status_reason
    assert f"{folder / 'divides.py'}:14" in now[divides.id].status_reason
    assert "settings_file.py failed to load" in now[lost.id].status_reason
    for bot in (mine, builtin):
        assert now[bot.id].status == RUNNING
    assert engine.alive()
    log = engine.output()
    assert "strategy not loaded from" in log and "JSONDecodeError" in log
    assert 'settings_file.py", line 4, in <module>' in log  # the traceback, in the log
    assert "ZeroDivisionError: division by zero" in log
