"""The user's strategies: a folder and installed packages' entry points; what fails to
load is reported with its traceback and never stops the rest."""

import pytest

from botdesk.engine.backtest.runs import BacktestRequest, run_backtest
from botdesk.engine.research.lookahead import check
from botdesk.engine.strategies import loader, registry
from tests.engine.driving import sample
from tests.engine.research.strategy_files import (
    CLEAN,
    HIGHER,
    NOT_VALID,
    RAISES_ON_IMPORT,
    write,
)


@pytest.fixture(autouse=True)
def forget():
    yield
    loader.load_user_strategies(None, packages=False)


def test_a_folder_loads_what_works_and_reports_the_rest_with_tracebacks(tmp_path):
    good = write(tmp_path, "over_sma", CLEAN.format(name="over_sma"))
    broken = write(tmp_path, "broken", RAISES_ON_IMPORT)
    write(tmp_path, "syntax", "def nope(:\n")
    write(tmp_path, "invalid", NOT_VALID)
    write(tmp_path, "taken", CLEAN.format(name="ema_cross"))
    write(tmp_path, "_helper", "raise RuntimeError('files starting with _ are not strategies')")

    report = loader.load_user_strategies(tmp_path, packages=False)

    assert report.loaded == {"over_sma": str(good)}
    assert registry.SOURCES["over_sma"] == str(good)
    assert registry.SOURCES["ema_cross"] == registry.BUILT_IN
    failures = {f.source.rsplit("/", 1)[-1]: f for f in report.failures}
    assert set(failures) == {"broken.py", "syntax.py", "invalid.py", "taken.py"}
    assert "JSONDecodeError" in failures["broken.py"].message
    assert f'File "{broken}", line 4' in failures["broken.py"].traceback
    assert "SyntaxError" in failures["syntax.py"].message
    assert "NoDefault" in failures["invalid.py"].message
    assert "period" in failures["invalid.py"].traceback  # pydantic's missing field
    assert "already taken by built-in" in failures["taken.py"].message
    assert report.failures == loader.FAILURES


def test_a_loaded_strategy_backtests_like_a_built_in(tmp_path):
    write(tmp_path, "over_sma", CLEAN.format(name="over_sma"))
    loader.load_user_strategies(tmp_path, packages=False)
    report = run_backtest(BacktestRequest("over_sma", {"period": 30}, "BTCUSDT", "1m", "sample"))
    assert report.metrics.trades > 0
    assert report.params == {"period": 30, "stop_atr": 2.0}


def test_loading_again_forgets_a_removed_file_and_an_unknown_name_tells_why(tmp_path):
    path = write(tmp_path, "over_sma", CLEAN.format(name="over_sma"))
    loader.load_user_strategies(tmp_path, packages=False)
    path.unlink()
    write(tmp_path, "broken", RAISES_ON_IMPORT)
    loader.load_user_strategies(tmp_path, packages=False)
    assert "over_sma" not in registry.STRATEGIES
    with pytest.raises(registry.UnknownStrategy, match=r"broken.py failed to load: import"):
        registry.get("over_sma")


def test_a_missing_folder_is_a_failure_not_a_crash(tmp_path):
    report = loader.load_user_strategies(tmp_path / "nowhere", packages=False)
    assert report.loaded == {}
    assert "does not exist" in report.failures[0].message


def test_an_installed_package_adds_strategies_through_its_entry_point(tmp_path, monkeypatch):
    """A real distribution on sys.path: its dist-info declares the entry points."""
    write(tmp_path / "acme_strategies", "__init__", "")
    write(tmp_path / "acme_strategies", "trend", CLEAN.format(name="acme_trend"))
    info = tmp_path / "acme_strategies-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-strategies\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[botdesk.strategies]\n"
        "trend = acme_strategies.trend:PriceOverSma\n"
        "missing = acme_strategies.gone\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    report = loader.load_user_strategies(None)

    assert report.loaded == {
        "acme_trend": "package acme-strategies: trend = acme_strategies.trend:PriceOverSma"
    }
    assert registry.get("acme_trend").title == "Close over SMA"
    (missing,) = report.failures
    assert missing.source == "package acme-strategies: missing = acme_strategies.gone"
    assert "ModuleNotFoundError" in missing.message


def test_a_strategy_reading_higher_timeframes_loads_checks_clean_and_backtests(tmp_path):
    good = write(tmp_path, "over_hour", HIGHER.format(name="over_hour", timeframes='("1h",)'))
    write(tmp_path, "odd", HIGHER.format(name="odd", timeframes='("1h", "2h")'))
    write(tmp_path, "bare", HIGHER.format(name="bare", timeframes='"1h"'))
    report = loader.load_user_strategies(tmp_path, packages=False)
    assert report.loaded == {"over_hour": str(good)}
    failures = {f.source.rsplit("/", 1)[-1]: f.message for f in report.failures}
    assert "its higher_timeframes name '2h'; use 1m, 5m, 15m, 1h, 4h" in failures["odd.py"]
    assert "must be a tuple of timeframes" in failures["bare.py"]
    strategy = registry.create("over_hour")
    candles = sample("BTCUSDT")[:3000]
    checked = check(strategy, candles, cuts=20, starts=4)
    assert not checked.lookahead and checked.cuts >= 15
    report = run_backtest(
        BacktestRequest(
            strategy="over_hour", params={}, symbol="BTCUSDT", timeframe="1m", data_source="sample"
        )
    )
    assert report.metrics.trades > 10
