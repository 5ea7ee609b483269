"""`botdesk strategy new|list|check`: the template works as written, the list tells each
strategy's source and every failure with its traceback, the check exits 1 on lookahead."""

import pytest
from click.testing import CliRunner

from botdesk.cli import main
from botdesk.engine.strategies import loader
from botdesk.settings import get_settings
from tests.engine.research.strategy_files import PEEKING, RAISES_ON_IMPORT, write


@pytest.fixture
def cli(tmp_path, monkeypatch):
    folder = tmp_path / "strategies"
    monkeypatch.setenv("BOTDESK_STRATEGY_PATH", str(folder))
    monkeypatch.setenv("BOTDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'botdesk.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args), catch_exceptions=False), folder
    get_settings.cache_clear()
    loader.load_user_strategies(None, packages=False)


def test_new_writes_a_template_that_loads_checks_clean_and_backtests(cli):
    invoke, folder = cli
    made = invoke("strategy", "new", "my_trend")
    assert made.exit_code == 0, made.output
    assert (folder / "my_trend.py").exists()

    listed = invoke("strategy", "list")
    assert listed.exit_code == 0
    row = f"my_trend            My trend                  {folder / 'my_trend.py'}"
    assert row in listed.output
    assert "ema_cross           EMA cross                 built-in" in listed.output

    checked = invoke("strategy", "check", "my_trend")
    assert checked.exit_code == 0, checked.output
    assert "no lookahead in" in checked.output
    assert "warm-up:" in checked.output

    backtest = invoke(
        "backtest",
        "--strategy",
        "my_trend",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "5m",
        "--data",
        "sample",
        "--sizing",
        "all-cash",
        "--no-store",
        "--params",
        '{"fast": 5}',
    )
    assert backtest.exit_code == 0, backtest.output
    assert '{"fast": 5, "slow": 30, "stop_atr": 2.0}' in backtest.output


def test_new_refuses_a_bad_name_a_built_in_and_an_existing_file(cli):
    invoke, _folder = cli
    assert "lower-case letters" in invoke("strategy", "new", "My-Trend").output
    assert "built-in" in invoke("strategy", "new", "ema_cross").output
    invoke("strategy", "new", "mine")
    again = invoke("strategy", "new", "mine")
    assert again.exit_code == 1
    assert "exists already; nothing written" in again.output


def test_list_shows_a_failure_with_its_traceback_and_exits_1(cli):
    invoke, folder = cli
    write(folder, "broken", RAISES_ON_IMPORT)
    invoke("strategy", "new", "fine")
    listed = invoke("strategy", "list")
    assert listed.exit_code == 1
    assert "fine" in listed.output  # the others load
    assert f"FAILED {folder / 'broken.py'}: importing it raised JSONDecodeError" in listed.output
    assert f'File "{folder / "broken.py"}", line 4, in <module>' in listed.output


def test_check_exits_1_on_lookahead_and_names_the_rows(cli):
    invoke, folder = cli
    write(folder, "next_close", PEEKING)
    checked = invoke("strategy", "check", "next_close", "--cuts", "30")
    assert checked.exit_code == 1
    assert "LOOKAHEAD" in checked.output
    assert "on the whole history" in checked.output and "with the history cut after row" in (
        checked.output
    )


def test_check_on_a_file_reads_its_symbol_and_timeframe_from_the_name(cli, tmp_path):
    invoke, _ = cli
    path = tmp_path / "ETHUSDT-5m.csv"
    from botdesk.engine.sample_data import sample_file

    lines = sample_file("ETHUSDT").read_text().splitlines()
    path.write_text("\n".join([lines[0], *lines[1:][::5]]) + "\n")
    checked = invoke("strategy", "check", "ema_cross", "--data", str(path))
    assert checked.exit_code == 0, checked.output
    assert "on 2,016 candles" in checked.output
