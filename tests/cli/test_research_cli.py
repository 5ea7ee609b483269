"""`botdesk optimize` and `botdesk walk-forward` in-process on a migrated database."""

import json
import shlex

import pytest
from click.testing import CliRunner
from sqlmodel import select

from botdesk.cli import main
from botdesk.db.models import WalkForwardRun
from botdesk.db.session import Database
from botdesk.engine.strategies import loader
from botdesk.settings import get_settings
from tests.engine.research.strategy_files import PEEKING, write

COMMON = ["--symbol", "BTCUSDT", "--timeframe", "5m", "--data", "sample", "--sizing", "all-cash"]


@pytest.fixture
def cli(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BOTDESK_DATABASE_URL", sqlite_url)
    (tmp_path / "strategies").mkdir()
    monkeypatch.setenv("BOTDESK_STRATEGY_PATH", str(tmp_path / "strategies"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args), catch_exceptions=False)
    get_settings.cache_clear()
    loader.load_user_strategies(None, packages=False)


def test_optimize_prints_the_best_trials_and_a_second_run_joins(cli):
    args = ["optimize", "--strategy", "ema_cross", *COMMON, "--trials", "6", "--seed", "1"]
    first = cli(*args, "--study", "mine", "--min-trades", "1")
    assert first.exit_code == 0, first.output
    assert first.output.startswith("created study mine: ema_cross on BTCUSDT 5m, 2,016 candles")
    assert "best " in first.output and "backtest the best: botdesk backtest" in first.output
    # the command it prints re-runs the best trial with the same figures
    command = first.output.split("backtest the best: botdesk ")[1].splitlines()[0]
    rerun = cli(*shlex.split(command), "--no-store")
    best = first.output.split(" by sharpe:\n")[1].splitlines()[0]
    assert f"trades         {best.split('trades ')[1].split()[0]}\n" in rerun.output
    assert f"total return   {best.split('return ')[1].split()[0]}\n" in rerun.output
    again = cli(*args, "--study", "mine", "--min-trades", "1")
    assert again.output.startswith("joined study mine")
    counts = again.output.splitlines()[1].removeprefix("trials: ").split(", ")
    assert sum(int(count.split()[0]) for count in counts) == 12  # both runs' trials
    other = cli(*args, "--study", "mine", "--min-trades", "5")
    assert other.exit_code == 1
    assert "exists with other settings: min_trades 1 (not 5)" in other.output


def test_optimize_flags_a_peeking_strategy_and_refuses_bad_input(cli, tmp_path):
    write(tmp_path / "strategies", "next_close", PEEKING)
    flagged = cli("optimize", "--strategy", "next_close", *COMMON, "--trials", "2")
    assert "warning: LOOKAHEAD" in flagged.output
    bad = cli("optimize", "--strategy", "ema_cross", *COMMON, "--params", "[1]")
    assert bad.exit_code == 2 and "a JSON object" in bad.output
    unknown = cli("optimize", "--strategy", "nope", *COMMON)
    assert unknown.exit_code == 1 and "unknown strategy 'nope'" in unknown.output


def test_walk_forward_prints_every_window_and_stores_the_run(cli, sqlite_url):
    done = cli(
        "walk-forward",
        "--strategy",
        "ema_cross",
        *COMMON,
        "--trials",
        "4",
        "--train",
        "2d",
        "--test",
        "1d",
        "--min-trades",
        "1",
        "--seed",
        "2",
    )
    assert done.exit_code == 0, done.output
    lines = done.output.splitlines()
    assert lines[1].startswith("window  test from")
    assert sum(1 for line in lines if line.strip()[:1].isdigit()) == 5  # 7 days: 2 + 5 x 1
    assert "walk-forward efficiency" in done.output
    db = Database(sqlite_url)
    with db.reading() as session:
        (row,) = session.exec(select(WalkForwardRun)).all()
    assert row.status == "done"
    assert json.loads(row.settings)["train"] == 576  # 2 days of 5m candles
    assert len(json.loads(row.result)["windows"]) == 5
    db.dispose()


def test_walk_forward_refuses_a_window_that_is_not_whole_candles(cli):
    bad = cli("walk-forward", "--strategy", "ema_cross", *COMMON, "--train", "7m", "--test", "1d")
    assert bad.exit_code == 2 and "not a whole number of candles" in bad.output
