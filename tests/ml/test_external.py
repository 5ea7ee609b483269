"""External signals: a time,value CSV imported as a series and joined to candles as of
each candle's close, never earlier; a model trained with it and traded by ml_predictor.

The fixture `fixtures/btc_daily_return.csv` is a real series derived from the shared
BTCUSDT 1h klines: each UTC day's return (last close / first open - 1) of 2022-01 to
2022-04, stamped at the day's end, when it became known."""

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from botdesk.cli import main
from botdesk.ml import external, feature_set
from botdesk.ml.external import ExternalError, as_of, read_csv, with_external
from botdesk.settings import get_settings

FIXTURE = Path(__file__).parent / "fixtures" / "btc_daily_return.csv"
HOUR, DAY = 3_600_000, 86_400_000


def test_a_point_is_seen_from_the_candle_whose_close_it_precedes():
    times = np.array([10 * HOUR, 20 * HOUR + 1], dtype=np.int64)
    values = np.array([1.5, 2.5])
    opens = np.arange(25, dtype=np.int64) * HOUR
    joined = as_of(times, values, opens + HOUR)
    assert np.isnan(joined[:9]).all()  # candle 9 closes at 10h: the first to see 1.5
    assert (joined[9:20] == 1.5).all()  # candle 19 closes at 20h, 1 ms before the 2nd point
    assert (joined[20:] == 2.5).all()


def test_rows_before_a_cut_ignore_every_later_point(btc_1h):
    frame = btc_1h[:3000]
    rows = feature_set.compute(frame, HOUR)
    times, values = read_csv(FIXTURE)
    times = times - times[0] + int(frame.open_time_ms[1000])  # move it over these candles
    cut = int(frame.open_time_ms[2000])
    changed = np.where(times > cut + HOUR, values * -7 + 3, values)
    plain = with_external(rows, {"daily": (times, values)}, HOUR)
    shuffled = with_external(rows, {"daily": (times, changed)}, HOUR)
    before = rows.open_time_ms < cut
    assert plain.names[-1] == "ext_daily"
    assert np.array_equal(plain.values[before], shuffled.values[before], equal_nan=True)
    assert not np.array_equal(plain.values[~before], shuffled.values[~before], equal_nan=True)


@pytest.mark.parametrize(
    "text,message",
    [
        ("when,value\n1,2\n", "the header must be time,value"),
        ("time,value\nyesterday,2\n", "line 2: 'yesterday' is not a time"),
        ("time,value\n2022-01-02,1\n2022-01-01,2\n", "line 3: times must ascend"),
        ("time,value\n2022-01-02,nan\n", "line 2: the value must be a finite number"),
        ("time,value\n2022-01-02,high\n", "line 2: 'high' is not a number"),
        ("time,value\n", "no points"),
    ],
)
def test_bad_files_are_refused_with_the_line(tmp_path, text, message):
    path = tmp_path / "series.csv"
    path.write_text(text)
    with pytest.raises(ExternalError, match=message):
        read_csv(path)


@pytest.fixture
def cli(sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("BOTDESK_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("BOTDESK_VAR_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, ["ml", *args], catch_exceptions=False)
    get_settings.cache_clear()


def test_a_model_trained_with_the_series_uses_it(cli, sqlite_url, btc_1h, tmp_path):
    from tests.conftest import SHARED_DATA

    bad = cli("external", "import", "Fear-Greed", str(FIXTURE))
    assert bad.exit_code == 1 and "is not a series name" in bad.output
    missing = cli("train", "--symbol", "BTCUSDT", "--timeframe", "1h", "--external", "daily")
    assert missing.exit_code == 1 and "no points of the external series 'daily'" in missing.output
    imported = cli("external", "import", "btc_daily_return", str(FIXTURE))
    assert imported.output.strip() == f"120 points of btc_daily_return read from {FIXTURE}"
    trained = cli(
        "train",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "1h",
        "--data",
        str(SHARED_DATA / "BTCUSDT-1h.csv"),
        "--from",
        "2022-01-01",
        "--to",
        "2022-04-01",
        "--folds",
        "2",
        "--rounds",
        "20",
        "--external",
        "btc_daily_return",
    )
    assert trained.exit_code == 0, trained.output
    from botdesk.db.session import Database
    from botdesk.ml import registry

    db = Database(sqlite_url)
    try:
        with db.reading() as session:
            model = registry.get(session=session, version=1)
            assert '"external": ["btc_daily_return"]' in model.params
            assert "ext_btc_daily_return" in model.importance
        # ml_predictor reads the series with the model and predicts with it
        from botdesk.engine.strategies import registry as strategies
        from botdesk.engine.strategies.safe import evaluate
        from botdesk.ml.predictor import MODELS

        MODELS.clear()
        strategy = strategies.create(
            "ml_predictor", {"model": 1, "follow_champion": False, "min_confidence": 0}
        )
        start = int(np.searchsorted(btc_1h.open_time_ms, 1_646_092_800_000))
        signals = evaluate(strategy, btc_1h[start : start + 1500])
        assert (signals.side != 0).sum() > 0
        series = external.load_all(db, ("btc_daily_return",))
        assert len(series["btc_daily_return"][0]) == 120
    finally:
        MODELS.clear()
        db.dispose()
