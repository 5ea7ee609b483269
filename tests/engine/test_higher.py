"""Higher timeframes along a strategy's candles: at each candle exactly the higher candles
that have closed, hand-computed on real klines; nothing at candle t changes when later
candles are removed; the engine's build-once path gives what a strategy builds alone."""

import csv
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from botdesk.engine.frames import CandleFrame
from botdesk.engine.higher import (
    HigherTimeframeError,
    closed_candles,
    higher_frame,
    with_higher,
)
from botdesk.engine.klines import load_klines
from tests.conftest import SHARED_DATA

BTC_5M = SHARED_DATA / "BTCUSDT-5m.csv"
FIVE_MINUTES = 300_000
SUMS = ("volume", "quote_volume", "trades", "taker_buy_base_volume", "taker_buy_quote_volume")
COLUMNS = ("open", "high", "low", "close", *SUMS)
pytestmark = pytest.mark.skipif(not BTC_5M.exists(), reason="../shared/data is absent")


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _rows() -> dict[int, dict]:
    """The file's rows by open time, as exact decimals, read without botdesk's code."""
    with BTC_5M.open() as handle:
        return {
            int(row["open_time_ms"]): {name: Decimal(row[name]) for name in COLUMNS}
            for row in csv.DictReader(handle)
        }


def _by_hand(rows: dict[int, dict], start: str, hours: int) -> dict:
    """The candle of `hours` from `start`, built from its 5m rows by hand."""
    first = _ms(start)
    part = [rows[first + k * FIVE_MINUTES] for k in range(hours * 12)]
    return {
        "open_time_ms": first,
        "open": part[0]["open"],
        "high": max(row["high"] for row in part),
        "low": min(row["low"] for row in part),
        "close": part[-1]["close"],
        **{name: sum(row[name] for row in part) for name in SUMS},
    }


def _same(got: dict | None, expected: dict) -> bool:
    """The candle built by hand, exactly (the quote volumes, 17 significant digits, to a
    float's precision: the frames' columns are float64)."""
    if got is None or got.keys() != expected.keys():
        return False
    for name, value in expected.items():
        if name.endswith("quote_volume"):
            if abs(got[name] - value) > value * Decimal("1e-15"):
                return False
        elif got[name] != value:
            return False
    return True


def _latest(frame, row: int) -> dict | None:
    index = int(frame.latest()[row])
    return None if index < 0 else frame.candles.row(index)


@pytest.fixture(scope="module")
def candles() -> CandleFrame:
    return load_klines(BTC_5M).candles


def test_at_a_5m_candle_the_visible_1h_and_4h_candles_are_exactly_the_closed_ones(candles):
    rows = _rows()
    seen = with_higher(candles, ("1h", "4h"), interval_ms=FIVE_MINUTES)
    hourly, four_hourly = seen.higher["1h"], seen.higher["4h"]
    at = {text: int(np.searchsorted(candles.open_time_ms, _ms(text))) for text in (
        "2025-08-20 10:50", "2025-08-20 10:55", "2025-08-20 11:55", "2025-08-19 16:50",
        "2025-08-19 16:55", "2025-08-19 19:55",
    )}  # fmt: skip
    # the 5m candle 10:50-10:55: the hour 10:00-11:00 is still forming
    assert _same(_latest(hourly, at["2025-08-20 10:50"]), _by_hand(rows, "2025-08-20 09:00", 1))
    # the 5m candle 10:55-11:00 closes it: visible from this candle on
    assert _same(_latest(hourly, at["2025-08-20 10:55"]), _by_hand(rows, "2025-08-20 10:00", 1))
    assert _same(
        _latest(four_hourly, at["2025-08-20 10:55"]), _by_hand(rows, "2025-08-20 04:00", 4)
    )
    assert _same(
        _latest(four_hourly, at["2025-08-20 11:55"]), _by_hand(rows, "2025-08-20 08:00", 4)
    )
    # the file starts at 15:10: the hour 15:00 and the 4h candle 12:00 lack candles and
    # are never shown; the first of each is visible once it closes
    assert _latest(hourly, at["2025-08-19 16:50"]) is None
    assert _same(_latest(hourly, at["2025-08-19 16:55"]), _by_hand(rows, "2025-08-19 16:00", 1))
    assert _latest(four_hourly, at["2025-08-19 16:55"]) is None
    assert _same(
        _latest(four_hourly, at["2025-08-19 19:55"]), _by_hand(rows, "2025-08-19 16:00", 4)
    )
    # every 5m candle sees exactly the hours that closed by its close
    closes = candles.open_time_ms + FIVE_MINUTES
    ends = hourly.candles.open_time_ms + 3_600_000
    assert all(
        hourly.visible[t] == int((ends <= closes[t]).sum()) for t in range(0, len(candles), 7)
    )


def test_nothing_at_a_candle_changes_when_later_candles_are_removed(candles):
    whole = with_higher(candles, ("15m", "1h", "4h"), interval_ms=FIVE_MINUTES)
    for cut in (300, 301, 1000, 1007, 2879, 4321, len(candles) - 2):
        for start in (0, 7, 13):  # a live window starts anywhere, inside an hour too
            part = with_higher(candles[start : cut + 1], ("15m", "1h", "4h"))
            for timeframe in ("15m", "1h", "4h"):
                mine, full = part.higher[timeframe], whole.higher[timeframe]
                for row in range(len(part) - 40, len(part)):
                    expected = _latest(full, start + row)
                    got = _latest(mine, row)
                    assert got == expected
                # whatever the window holds of a timeframe, the whole history has, alike
                first = int(
                    np.searchsorted(full.candles.open_time_ms, mine.candles.open_time_ms[0])
                )
                assert all(
                    mine.candles.row(k) == full.candles.row(first + k)
                    for k in range(len(mine.candles))
                )
                aligned = mine.align(mine.candles.close)
                assert np.array_equal(
                    aligned[-40:],
                    full.align(full.candles.close)[start + len(part) - 40 : start + len(part)],
                )


def test_the_candles_built_once_for_a_history_give_each_window_the_same(candles):
    history = candles[:3000]
    built = {tf: closed_candles(history, tf, FIVE_MINUTES) for tf in ("1h", "4h")}
    for start, stop in ((0, 3000), (5, 600), (600, 1800), (2411, 3000), (2999, 3000)):
        window = history[start:stop]
        for timeframe in ("1h", "4h"):
            alone = higher_frame(window, timeframe, FIVE_MINUTES)
            shared = higher_frame(window, timeframe, FIVE_MINUTES, built=built[timeframe])
            assert np.array_equal(alone.visible, shared.visible)
            assert alone.candles.columns().keys() == shared.candles.columns().keys()
            for name, values in alone.candles.columns().items():
                assert np.array_equal(values, getattr(shared.candles, name))


def test_a_timeframe_that_cannot_be_built_is_refused_with_the_reason(candles):
    with pytest.raises(HigherTimeframeError, match="1m candles cannot be built from 5m"):
        with_higher(candles[:50], ("1m",), interval_ms=FIVE_MINUTES)
    with pytest.raises(HigherTimeframeError, match="unknown timeframe '2h'"):
        with_higher(candles[:50], ("2h",), interval_ms=FIVE_MINUTES)
    with pytest.raises(KeyError, match=r"no 4h candles.*higher_timeframes: 1h"):
        with_higher(candles[:50], ("1h",)).higher["4h"]
    lonely = with_higher(candles[:1], ("1h",))  # one candle: nothing can have closed
    assert lonely.higher["1h"].visible.tolist() == [0]
