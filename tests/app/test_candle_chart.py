"""A bot's candle chart as a plain figure: the candles, the strategy's indicators, signals and
fills as markers, zones and the volume profile, in panels laid out as plotly draws them."""

import base64
import csv
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

import botdesk
from botdesk.app import candle_chart
from botdesk.app.components import PLOT_TEMPLATE
from botdesk.db.models import Candle, Fill, Signal
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import ema, fair_value_gaps, rsi

SAMPLE = Path(botdesk.__file__).parent / "data" / "BTCUSDT-1m.csv"


def sample_candles(count: int) -> list[Candle]:
    with SAMPLE.open() as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [
        Candle(
            symbol="BTCUSDT",
            timeframe="1m",
            open_time_ms=int(row["open_time_ms"]),
            **{k: Decimal(row[k]) for k in ("open", "high", "low", "close", "volume")},
        )
        for row in rows
    ]


def utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def numbers(values) -> np.ndarray:
    """A typed array (base64) or a list, as numbers."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def signal(candle: Candle, side: str, **fields) -> Signal:
    return Signal(
        bot_id=1,
        dedupe_key=f"c:{candle.open_time_ms}",
        symbol="BTCUSDT",
        timeframe="1m",
        candle_open_ms=candle.open_time_ms,
        side=side,
        price=candle.close,
        **fields,
    )


def fill(candle: Candle, side: str) -> Fill:
    return Fill(
        order_id=1,
        bot_id=1,
        trade_id=f"t{candle.open_time_ms}",
        symbol="BTCUSDT",
        side=side,
        quantity=Decimal("0.01000000"),
        price=candle.open,
        filled_at=datetime.fromtimestamp(candle.open_time_ms / 1000 + 30, UTC),
    )


def by_name(figure: dict) -> dict[str, dict]:
    return {trace["name"]: trace for trace in figure["data"]}


@pytest.fixture(scope="module")
def window() -> list[Candle]:
    return sample_candles(300)


def test_a_plain_figure_in_plotlys_dark_theme_that_plotly_accepts(window):
    figure = candle_chart.figure(
        candles=window, strategy="ema_cross", params={}, signals=[], fills=[]
    )
    assert type(figure) is dict and all(type(trace) is dict for trace in figure["data"])
    layout = figure["layout"]
    assert layout["template"] is PLOT_TEMPLATE  # dark, on the page's own background
    assert PLOT_TEMPLATE["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    validated = go.Figure(figure)  # raises on any attribute plotly does not know
    assert validated.layout.xaxis.rangeslider.visible is False
    assert validated.layout.yaxis.title.text == "USDT"


def test_candles_and_the_strategys_lines_over_them(window):
    figure = candle_chart.figure(
        candles=window, strategy="ema_cross", params={"fast": 5, "slow": 13}, signals=[], fills=[]
    )
    assert [trace["name"] for trace in figure["data"]] == [
        "price",
        "EMA 5",
        "EMA 13",
        "volume profile",
    ]
    traces = by_name(figure)
    price = traces["price"]
    assert price["type"] == "candlestick" and (price["xaxis"], price["yaxis"]) == ("x", "y")
    assert price["x"][0] == utc(window[0].open_time_ms) == "2024-10-28T00:00:00"
    assert price["x"][-1] == utc(window[-1].open_time_ms) and len(price["x"]) == 300
    for side in ("open", "high", "low", "close"):
        assert list(numbers(price[side])) == [float(getattr(c, side)) for c in window]
    close = np.array([float(c.close) for c in window])
    fast = traces["EMA 5"]
    assert fast["type"] == "scatter" and fast["mode"] == "lines" and fast["x"] == price["x"]
    np.testing.assert_allclose(numbers(fast["y"]), ema(close, 5), equal_nan=True)
    np.testing.assert_allclose(numbers(traces["EMA 13"]["y"]), ema(close, 13), equal_nan=True)
    layout = figure["layout"]
    assert layout["xaxis"]["title"]["text"] == "UTC" and "xaxis3" not in layout
    assert layout["yaxis"]["domain"] == (0.0, 1.0)


def test_signals_and_fills_are_markers_at_their_candle_and_price(window):
    bought, sold = window[-20], window[-60]
    signals = [
        signal(bought, "buy", confidence=0.8, reason="EMA 5 crossed above EMA 13"),
        signal(sold, "sell", status="filled"),
        Signal(bot_id=1, dedupe_key="tv:1", symbol="BTCUSDT", timeframe="1m", side="buy"),
    ]
    fills = [fill(window[-19], "buy"), fill(window[-59], "sell")]
    figure = candle_chart.figure(
        candles=window, strategy="ema_cross", params={}, signals=signals, fills=fills
    )
    traces = by_name(figure)
    buy = traces["buy signal"]
    assert buy["mode"] == "markers" and buy["marker"]["symbol"] == "triangle-up"
    # The webhook alert has no candle and no price: it is not drawn.
    assert buy["x"] == [utc(bought.open_time_ms)] and buy["y"] == [float(bought.close)]
    assert buy["text"] == ["new · conf. 0.80 · EMA 5 crossed above EMA 13"]
    sell = traces["sell signal"]
    assert sell["x"] == [utc(sold.open_time_ms)] and sell["marker"]["symbol"] == "triangle-down"
    entry, exit_ = traces["entry fill"], traces["exit fill"]
    assert entry["x"] == [fills[0].filled_at] and entry["y"] == [float(window[-19].open)]
    assert entry["text"] == [f"0.01 @ {window[-19].open:,.2f}"]
    assert exit_["x"] == [fills[1].filled_at] and exit_["y"] == [float(window[-59].open)]
    assert all(trace["yaxis"] == "y" for trace in (buy, sell, entry, exit_))
    assert "%{x|%Y-%m-%d %H:%M} UTC" in buy["hovertemplate"]


def test_fair_value_gaps_and_order_blocks_are_zones_behind_the_price(window):
    figure = candle_chart.figure(
        candles=window, strategy="ema_cross", params={}, signals=[], fills=[]
    )
    zones = [shape for shape in figure["layout"]["shapes"] if shape["type"] == "rect"]
    gaps = [zone for zone in zones if zone["line"]["width"] == 0]
    blocks = [zone for zone in zones if zone["line"]["width"] == 1]
    assert gaps and blocks and len(gaps) + len(blocks) == len(zones)
    assert len(gaps) <= candle_chart.ZONES_SHOWN and len(blocks) <= candle_chart.ZONES_SHOWN
    times = [utc(c.open_time_ms) for c in window]
    low, high = min(float(c.low) for c in window), max(float(c.high) for c in window)
    for zone in zones:
        assert (zone["xref"], zone["yref"], zone["layer"]) == ("x", "y", "below")
        assert zone["x0"] in times and zone["x1"] in times and zone["x0"] <= zone["x1"]
        assert low <= zone["y0"] < zone["y1"] <= high
    frame = CandleFrame.from_rows(window)
    found = fair_value_gaps(frame.high, frame.low, frame.close, 0.0002)
    newest = gaps[-1]  # the latest gap, from its first candle
    assert newest["x0"] == times[found.index[-1] - 2]
    assert (newest["y0"], newest["y1"]) == (found.bottom[-1], found.top[-1])
    assert newest["fillcolor"] in ("rgba(46, 204, 113, 0.18)", "rgba(231, 76, 60, 0.18)")


def test_the_volume_profile_beside_the_price_with_its_point_of_control(window):
    figure = candle_chart.figure(
        candles=window, strategy="ema_cross", params={}, signals=[], fills=[]
    )
    profile = by_name(figure)["volume profile"]
    assert profile["type"] == "bar" and profile["orientation"] == "h"
    assert (profile["xaxis"], profile["yaxis"]) == ("x2", "y2")
    volume = numbers(profile["x"])
    assert len(volume) == len(profile["marker"]["color"]) == 30
    assert volume.sum() == pytest.approx(sum(float(c.volume) for c in window))
    layout = figure["layout"]
    assert layout["yaxis2"]["matches"] == "y"  # the profile's prices are the chart's
    assert layout["xaxis"]["domain"][1] < layout["xaxis2"]["domain"][0]  # side by side
    poc = [shape for shape in layout["shapes"] if shape["type"] == "line"]
    assert len(poc) == 1 and poc[0]["xref"] == "x domain" and poc[0]["line"]["dash"] == "dash"
    assert layout["annotations"][0]["text"] == "POC"
    assert layout["annotations"][0]["y"] == poc[0]["y0"] == poc[0]["y1"]
    middles = numbers(profile["y"])
    assert middles[volume.argmax()] == pytest.approx(poc[0]["y0"])  # the busiest price


def test_an_oscillator_gets_its_own_panel_under_the_price_on_the_same_time_axis(window):
    figure = candle_chart.figure(
        candles=window,
        strategy="rsi_reversion",
        params={"period": 14, "oversold": 25, "overbought": 75},
        signals=[],
        fills=[],
    )
    strength = by_name(figure)["RSI 14"]
    assert (strength["xaxis"], strength["yaxis"]) == ("x3", "y3")
    close = np.array([float(c.close) for c in window])
    np.testing.assert_allclose(numbers(strength["y"]), rsi(close, 14), equal_nan=True)
    levels = [shape for shape in figure["layout"]["shapes"] if shape.get("yref") == "y3"]
    assert sorted(level["y0"] for level in levels) == [25, 75]
    assert all(level["xref"] == "x3 domain" for level in levels)
    layout = figure["layout"]
    assert layout["xaxis"]["matches"] == "x3" and layout["xaxis"]["showticklabels"] is False
    assert layout["xaxis3"]["title"]["text"] == "UTC" and "title" not in layout["xaxis"]
    assert layout["yaxis3"]["domain"][1] < layout["yaxis"]["domain"][0]  # below the price
    assert layout["yaxis2"]["domain"] == layout["yaxis"]["domain"]
    assert go.Figure(figure).layout.yaxis3.anchor == "x3"


def test_a_window_too_short_for_zones_still_draws(window):
    figure = candle_chart.figure(
        candles=window[:2], strategy="macd_trend", params={}, signals=[], fills=[]
    )
    assert len(by_name(figure)["price"]["x"]) == 2
    assert not [shape for shape in figure["layout"]["shapes"] if shape["type"] == "rect"]
