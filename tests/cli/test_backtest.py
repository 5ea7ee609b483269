"""`botdesk backtest`: every kline file of ../shared/data, clear errors for bad files and
arguments, the trades CSV, and the run stored for the desk."""

import csv
import json
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlmodel import select

from botdesk.cli import main
from botdesk.db.models import BacktestRun
from botdesk.db.session import Database
from botdesk.settings import get_settings
from tests.conftest import SHARED_DATA
from tests.engine.test_klines import GOOD_ROWS, write
from tests.processes import run_cli

KLINE_FILES = sorted(p for p in SHARED_DATA.glob("*.csv") if "trades" not in p.name)


@pytest.fixture
def cli(sqlite_url, tmp_path, monkeypatch):
    """`botdesk backtest` in-process on a fresh SQLite database."""
    monkeypatch.setenv("BOTDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BOTDESK_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["backtest", *args], catch_exceptions=False)
    get_settings.cache_clear()


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
@pytest.mark.parametrize("path", KLINE_FILES, ids=lambda p: p.name)
def test_every_shared_kline_file_backtests(cli, sqlite_url, tmp_path, path):
    symbol, interval = path.stem.split("-")
    out = tmp_path / "trades.csv"
    result = cli(
        "--strategy",
        "ema_cross",
        "--symbol",
        symbol,
        "--timeframe",
        interval,
        "--data",
        str(path),
        "--out-trades",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert f"backtest ema_cross on {symbol} {interval}" in result.output
    trades = int(result.output.split("trades ")[1].split()[0])
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == trades > 50
    assert set(rows[0]) >= {
        "entry_time",
        "entry_price",
        "exit_time",
        "exit_price",
        "quantity",
        "fees",
        "pnl",
        "exit_reason",
    }
    assert {row["exit_reason"] for row in rows} <= {"exit", "stop_loss", "end_of_data"}
    db = Database(sqlite_url)
    with db.reading() as session:
        run = session.exec(select(BacktestRun)).one()
    db.dispose()
    assert (run.status, run.trades, run.symbol) == ("done", trades, symbol)
    assert len(json.loads(run.equity_curve)) <= 2000
    assert len(json.loads(run.trade_list)) == trades


def test_a_real_process_prints_the_summary_and_refuses_bad_input(botdesk_env, tmp_path):
    ok = run_cli(
        [
            "backtest",
            "--strategy",
            "rsi_reversion",
            "--symbol",
            "SOLUSDT",
            "--timeframe",
            "15m",
            "--data",
            "sample",
            "--params",
            '{"period": 9}',
            "--from",
            "2024-10-29",
            "--to",
            "2024-11-01T12:00",
            "--no-store",
        ],
        botdesk_env,
    )
    assert ok.returncode == 0, ok.stderr
    lines = ok.stdout.splitlines()
    assert lines[0] == (
        "backtest rsi_reversion on SOLUSDT 15m, 2024-10-29 00:00 UTC to "
        "2024-11-01 12:00 UTC (337 candles)"
    )
    assert '"period": 9' in lines[1]
    for label in (
        "trades",
        "win rate",
        "total return",
        "max drawdown",
        "sharpe",
        "profit factor",
        "fees paid",
        "final equity",
    ):
        assert any(line.startswith(label) for line in lines), label
    bad = run_cli(
        [
            "backtest",
            "--strategy",
            "ema_cross",
            "--symbol",
            "SOLUSDT",
            "--timeframe",
            "1h",
            "--data",
            "sample",
            "--params",
            '{"fast": 40, "slow": 30}',
        ],
        botdesk_env,
    )
    assert bad.returncode == 1
    assert "Error: ema_cross: fast: fast must be below slow" in bad.stderr


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (GOOD_ROWS, "open_time_ms,open,high,low,close\n", "missing column(s) volume"),
        ([GOOD_ROWS[1], GOOD_ROWS[0], GOOD_ROWS[2]], None, "line 3: open time"),
        ([*GOOD_ROWS[:2], "1730095200000,1,2,1,1,1"], None, "line 4: gap of 5h 58m"),
        ([*GOOD_ROWS[:2], "1730073720000,1,x,1,1,1"], None, "line 4: high 'x' is not a number"),
    ],
    ids=["missing-columns", "unsorted", "gap", "garbage"],
)
def test_bad_files_get_a_clear_error_and_change_nothing(cli, tmp_path, rows, header, message):
    path = write(tmp_path, rows, **({"header": header} if header else {}))
    result = cli(
        "--strategy",
        "ema_cross",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1m",
        "--data",
        str(path),
        "--max-gap",
        "1h",
    )
    assert result.exit_code == 1
    assert message in result.output
    assert "BTCUSDT-1m.csv" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "martingale"], "unknown strategy 'martingale'"),
        (["--params", "{fast: 1}"], "Invalid value for --params: not valid JSON"),
        (["--from", "yesterday"], "'yesterday' is not a date"),
        (["--fee", "abc"], "'abc' is not a number"),
        (["--fee", "0.0000000001"], "--fee: at most 8 decimals"),
        (["--fee", "1e40"], "must be between 0 and 0.1, not 1e40"),
        (["--capital", "1000.123456789"], "at most 8 decimals"),
        (["--capital", "1e30"], "must be between 1 and 1000000000, not 1e30"),
        (["--max-gap", "6 hours"], "is not a duration"),
        (["--symbol", "ETHUSDT"], "holds BTCUSDT klines (by its name), not ETHUSDT"),
        (
            ["--timeframe", "1m", "--data", str(SHARED_DATA / "BTCUSDT-1h.csv")],
            "cannot build 1m candles from 1h candles",
        ),
        (["--from", "2030-01-01"], "fewer than 2 1h candles of BTCUSDT between 2030-01-01"),
        (["--data", "nowhere.csv"], "nowhere.csv: no such file"),
        (["--data", "sample", "--symbol", "DOGEUSDT"], "no bundled sample for DOGEUSDT"),
    ],
)
def test_bad_arguments_get_a_clear_error(cli, args, message):
    base = {
        "--strategy": "ema_cross",
        "--symbol": "BTCUSDT",
        "--timeframe": "1h",
        "--data": str(SHARED_DATA / "BTCUSDT-1h.csv"),
    }
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = cli(*[item for pair in base.items() for item in pair], "--no-store")
    assert result.exit_code != 0
    assert message in result.output


def _stored(sqlite_url) -> BacktestRun:
    db = Database(sqlite_url)
    with db.reading() as session:
        run = session.exec(select(BacktestRun).order_by(BacktestRun.id.desc())).first()
    db.dispose()
    return run


BTC_1H = ["--strategy", "ema_cross", "--symbol", "BTCUSDT", "--timeframe", "1h"]


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_sizing_is_the_desks_risk_limits_by_default_or_all_cash(cli, sqlite_url, tmp_path):
    from botdesk.db import risk_limits

    db = Database(sqlite_url)
    with db.writing() as session:
        for kind, value in (("risk_per_trade", "0.5"), ("max_position_notional", "2500")):
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="t")
    db.dispose()
    data = ["--data", str(SHARED_DATA / "BTCUSDT-1h.csv"), "--params", '{"stop_atr": 2}']
    out = tmp_path / "risk.csv"
    risk = cli(*BTC_1H, *data, "--out-trades", str(out))
    assert risk.exit_code == 0, risk.output
    assert (
        "sizing         risk: as a live bot, 0.5 % of capital at risk per trade, "
        "positions up to 2500 USDT, within the cash" in risk.output
    )
    run = _stored(sqlite_url)
    assert (run.sizing, run.risk_per_trade, run.max_position_notional) == (
        "risk",
        Decimal("0.5"),
        Decimal(2500),
    )
    with out.open() as handle:
        sized = list(csv.DictReader(handle))
    # 2500 USDT at the signal's close at most (the fill is at the next open)
    assert max(Decimal(t["quantity"]) * Decimal(t["entry_price"]) for t in sized) < 2600
    everything = cli(*BTC_1H, *data, "--sizing", "all-cash", "--out-trades", str(out))
    assert everything.exit_code == 0, everything.output
    assert "sizing         all cash: each entry spends the cash" in everything.output
    run = _stored(sqlite_url)
    assert (run.sizing, run.risk_per_trade, run.max_position_notional) == ("all-cash", None, None)
    with out.open() as handle:
        first = next(csv.DictReader(handle))
    assert Decimal(first["quantity"]) * Decimal(first["entry_price"]) > 9000


def test_risk_sizing_without_a_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("BOTDESK_DATABASE_URL", f"sqlite:///{tmp_path / 'nothing' / 'x.db'}")
    monkeypatch.setenv("BOTDESK_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        args = [*BTC_1H, "--data", "sample", "--no-store"]
        result = CliRunner().invoke(main, ["backtest", *args], catch_exceptions=False)
        assert result.exit_code == 1
        assert "--sizing risk reads the desk's risk limits" in result.output
        assert "pass --sizing all-cash" in result.output
        result = CliRunner().invoke(
            main, ["backtest", *args, "--sizing", "all-cash"], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        bad = CliRunner().invoke(main, ["backtest", *args, "--sizing", "kelly"])
        assert bad.exit_code == 2 and "'kelly' is not one of 'risk', 'all-cash'" in bad.output
    finally:
        get_settings.cache_clear()
