"""`botdesk data import|download` as a user runs them: a real `botdesk` process, the
fake Binance for the download, the messages and the progress bar it prints."""

import pytest
from sqlmodel import func, select

from botdesk.db.models import Candle
from botdesk.db.session import Database
from tests.conftest import SHARED_DATA, make_env
from tests.fake_binance import FakeBinance
from tests.fake_binance import load_klines as fake_klines
from tests.processes import run_cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent"),
]


def candle_count(url: str, timeframe: str) -> int:
    database = Database(url)
    try:
        with database.reading() as session:
            query = select(func.count()).select_from(Candle).where(Candle.timeframe == timeframe)
            return session.exec(query).one()
    finally:
        database.dispose()


def test_import_says_what_it_stored_and_refuses_a_bad_file_whole(database_url, tmp_path):
    env = make_env(database_url, tmp_path)
    path = SHARED_DATA / "ETHUSDT-5m.csv"
    done = run_cli(["data", "import", str(path), "--symbol", "ethusdt", "--timeframe", "5m"], env)
    assert done.returncode == 0, done.stderr
    assert "imported 8639 5m candles of ETHUSDT from 2025-08-19 15:10 UTC" in done.stdout
    assert "(8639 new, 0 replaced)" in done.stdout
    assert "and 719 1h candles built from them" in done.stdout
    assert candle_count(database_url, "4h") == 179
    lines = path.read_text().splitlines()
    lines[7] = lines[7] + ",1"  # line 8: a field too many
    bad = tmp_path / "SOLUSDT-5m.csv"
    bad.write_text("\n".join(lines) + "\n")
    refused = run_cli(["data", "import", str(bad), "--symbol", "SOLUSDT", "--timeframe", "5m"], env)
    assert refused.returncode == 1
    assert "SOLUSDT-5m.csv, line 8: 12 fields where the header has 11" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert candle_count(database_url, "5m") == 8639
    gapped = tmp_path / "XRPUSDT-5m.csv"  # the source's own gaps are kept, and named
    rows = path.read_text().splitlines()
    gapped.write_text("\n".join(rows[:20] + rows[21:40] + rows[42:60]) + "\n")
    kept = run_cli(["data", "import", str(gapped), "--symbol", "XRPUSDT", "--timeframe", "5m"], env)
    assert kept.returncode == 0, kept.stderr
    assert "gap: 1 candle missing between 2025-08-19 16:40 UTC" in kept.stdout
    assert "gap: 2 candles missing between" in kept.stdout
    wrong = run_cli(["data", "import", str(path), "--symbol", "ETH/USDT", "--timeframe", "5m"], env)
    assert wrong.returncode == 2 and "'ETH/USDT' is not a symbol" in wrong.stderr


def test_download_shows_its_progress_and_resumes(sqlite_url, tmp_path):
    klines = {"BTCUSDT": fake_klines("BTCUSDT-5m.csv", 2500)}
    with FakeBinance(klines=klines, start_index=2499) as fake:
        env = make_env(sqlite_url, tmp_path, BOTDESK_BINANCE_REST_URL=fake.base_url)
        args = ["data", "download", "--symbol", "BTCUSDT", "--timeframe", "5m"]
        span = ["--from", "2025-08-19T15:10", "--to", "2025-08-28T07:25"]  # 2500 candles
        first = run_cli([*args, *span], env)
        assert first.returncode == 0, first.stderr
        assert "downloaded 2500 5m candles of BTCUSDT from 2025-08-19 15:10 UTC" in first.stdout
        assert first.stderr.startswith("BTCUSDT 5m")  # the progress bar's label (not a tty)
        again = run_cli([*args, *span], env)
        assert "nothing to fetch: every 5m candle of BTCUSDT in the range is stored" in again.stdout
        unknown = run_cli(
            ["data", "download", "--symbol", "XYZUSDT", "--timeframe", "5m", *span], env
        )
        assert unknown.returncode == 1
        assert "download stopped: Binance refused (-1121): Invalid symbol." in unknown.stderr
        backwards = run_cli([*args, "--from", "2025-08-28", "--to", "2025-08-01"], env)
        assert backwards.returncode == 2 and "--to is before --from" in backwards.stderr
    assert candle_count(sqlite_url, "5m") == 2500
