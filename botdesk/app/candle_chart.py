"""A bot's candle chart: candlesticks with its strategy's indicators (computed by the
engine's own indicator functions), its signals and fills as markers, fair value gaps and
order blocks as shaded zones, and the volume profile of the window beside the price.

The figure is a plain dict in plotly's dark theme: graph objects would re-validate the
whole theme and every trace on each render."""

import base64
from dataclasses import dataclass

import numpy as np

from botdesk.app.components import PLOT_TEMPLATE
from botdesk.db.models import Candle, Fill, Signal
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import (
    bollinger_bands,
    ema,
    fair_value_gaps,
    macd,
    market_structure,
    order_blocks,
    rsi,
    swing_points,
    volume_profile,
)

ZONES_SHOWN = 12  # the most recent fair value gaps and order blocks, not the whole history
BULL, BEAR = "rgba(46, 204, 113, {a})", "rgba(231, 76, 60, {a})"
WHITE_EDGE, BLACK_EDGE = {"color": "white", "width": 1}, {"color": "black", "width": 1}
# The panels, in fractions of the figure: price on 86 % of the width and the volume profile
# (sharing its price axis) on 14 %, 1 % apart; with an oscillator, price on the top 75 % of
# the height and the oscillator (sharing its time axis) on the bottom 25 %, 4 % apart.
# Axes: x/y price, x2/y2 volume profile, x3/y3 oscillator.
PRICE_WIDTH, PROFILE_WIDTH = (0.0, 0.8514), (0.8614, 1.0)
PRICE_HEIGHT, OSCILLATOR_HEIGHT = (0.28, 1.0), (0.0, 0.24)


@dataclass(frozen=True)
class Overlay:
    name: str
    values: np.ndarray
    color: str
    dash: str | None = None


def overlays(strategy: str, params: dict, frame: CandleFrame) -> tuple[list[Overlay], dict]:
    """Lines over the price, and an oscillator panel ({name: values}, levels) if any."""
    close = frame.close
    if strategy == "ema_cross":
        fast, slow = params.get("fast", 9), params.get("slow", 21)
        return [
            Overlay(f"EMA {fast}", ema(close, fast), "#f39c12"),
            Overlay(f"EMA {slow}", ema(close, slow), "#9b59b6"),
        ], {}
    if strategy == "bollinger_breakout":
        period, stddev = params.get("period", 20), params.get("stddev", 2.0)
        upper, middle, lower = bollinger_bands(close, period, stddev)
        return [
            Overlay(f"BB {period} upper", upper, "#9b59b6", "dot"),
            Overlay(f"SMA {period}", middle, "#f39c12"),
            Overlay(f"BB {period} lower", lower, "#9b59b6", "dot"),
        ], {}
    if strategy == "rsi_reversion":
        period = params.get("period", 14)
        levels = [params.get("oversold", 30), params.get("overbought", 70)]
        return [], {"lines": {f"RSI {period}": rsi(close, period)}, "levels": levels}
    if strategy == "macd_trend":
        fast, slow, signal = params.get("fast", 12), params.get("slow", 26), params.get("signal", 9)
        line, signal_line, _ = macd(close, fast, slow, signal)
        return [], {"lines": {"MACD": line, "signal": signal_line}, "levels": [0]}
    return [], {}


def plot_times(ms) -> list[str]:
    """UTC times, from epoch milliseconds, as plotly.js reads a date (it ignores a zone)."""
    return np.datetime_as_string(np.asarray(ms, dtype="datetime64[ms]"), unit="s").tolist()


def plot_floats(values) -> dict:
    """A float array as plotly.js's typed array (base64 float64), as plotly.py sends one:
    compact, and a NaN (an indicator's warm-up) stays a number where JSON has none."""
    array = np.ascontiguousarray(values, dtype=np.float64)
    return {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def _zone(x0: str, x1: str, bottom: float, top: float, color: str, line: dict) -> dict:
    """A shaded rectangle behind the candles on the price panel."""
    return {
        "type": "rect",
        "xref": "x",
        "yref": "y",
        "x0": x0,
        "x1": x1,
        "y0": float(bottom),
        "y1": float(top),
        "fillcolor": color,
        "line": line,
        "layer": "below",
    }


def _zones(frame: CandleFrame, times: list[str], swing: int) -> list[dict]:
    """The latest fair value gaps and order blocks as rectangles behind the candles, each
    from its first candle to the one that filled, mitigated or broke it (or the last)."""
    last = len(frame) - 1
    zones = []
    gaps = fair_value_gaps(frame.high, frame.low, frame.close, 0.0002)
    for k in range(max(0, len(gaps) - ZONES_SHOWN), len(gaps)):
        end = gaps.filled_index[k] if gaps.filled_index[k] >= 0 else last
        color = (BULL if gaps.direction[k] > 0 else BEAR).format(a=0.18)
        start = times[gaps.index[k] - 2]
        zones.append(_zone(start, times[end], gaps.bottom[k], gaps.top[k], color, {"width": 0}))
    structure = market_structure(
        frame.high, frame.low, frame.close, swing_points(frame.high, frame.low, swing)
    )
    blocks = order_blocks(frame.open, frame.high, frame.low, frame.close, structure)
    for k in range(max(0, len(blocks) - ZONES_SHOWN), len(blocks)):
        ends = [i for i in (blocks.mitigated_index[k], blocks.broken_index[k]) if i >= 0]
        end = min(ends) if ends else last
        color = (BULL if blocks.direction[k] > 0 else BEAR).format(a=0.30)
        outline = {"color": color, "width": 1}
        start = times[blocks.index[k]]
        zones.append(_zone(start, times[end], blocks.bottom[k], blocks.top[k], color, outline))
    return zones


def _line(name: str, times: list[str], values, line: dict, axes: tuple[str, str]) -> dict:
    """An indicator as a line over the candles' times, on the panel of `axes`."""
    xaxis, yaxis = axes
    return {
        "type": "scatter",
        "name": name,
        "mode": "lines",
        "x": times,
        "y": plot_floats(values),
        "line": line,
        "xaxis": xaxis,
        "yaxis": yaxis,
    }


def _level(y: float, xaxis: str, yaxis: str, line: dict) -> dict:
    """A horizontal line across the whole width of a panel."""
    return {
        "type": "line",
        "xref": f"{xaxis} domain",
        "yref": yaxis,
        "x0": 0,
        "x1": 1,
        "y0": y,
        "y1": y,
        "line": line,
    }


def _axes(with_oscillator: bool) -> dict:
    """The panels' axes: the profile shares the price axis; the oscillator, when there is
    one, shares the time axis and carries its title and tick labels below the price."""
    price_height = PRICE_HEIGHT if with_oscillator else (0.0, 1.0)
    time_title = {"title": {"text": "UTC"}}
    axes = {
        "xaxis": {"anchor": "y", "domain": PRICE_WIDTH, "rangeslider": {"visible": False}},
        "yaxis": {
            "anchor": "x",
            "domain": price_height,
            "title": {"text": "USDT"},
            "tickformat": ",.2f",
        },
        "xaxis2": {"anchor": "y2", "domain": PROFILE_WIDTH, "showticklabels": False},
        "yaxis2": {
            "anchor": "x2",
            "domain": price_height,
            "matches": "y",
            "showticklabels": False,
        },
    }
    if with_oscillator:
        axes["xaxis"].update(matches="x3", showticklabels=False)
        axes["xaxis3"] = {"anchor": "y3", "domain": PRICE_WIDTH, **time_title}
        axes["yaxis3"] = {"anchor": "x3", "domain": OSCILLATOR_HEIGHT}
    else:
        axes["xaxis"].update(time_title)
    return axes


def figure(
    *,
    candles: list[Candle] | CandleFrame,
    strategy: str,
    params: dict,
    signals: list[Signal],
    fills: list[Fill],
) -> dict:
    frame = candles if isinstance(candles, CandleFrame) else CandleFrame.from_rows(candles)
    times = plot_times(frame.open_time_ms)
    lines, oscillator = overlays(strategy, params, frame)
    traces = [
        {
            "type": "candlestick",
            "name": "price",
            "x": times,
            "open": plot_floats(frame.open),
            "high": plot_floats(frame.high),
            "low": plot_floats(frame.low),
            "close": plot_floats(frame.close),
            "increasing": {"line": {"color": "#2ecc71"}},
            "decreasing": {"line": {"color": "#e74c3c"}},
            "xaxis": "x",
            "yaxis": "y",
        }
    ]
    for line in lines:
        style = {"color": line.color, "width": 1.3, "dash": line.dash}
        traces.append(_line(line.name, times, line.values, style, ("x", "y")))
    traces += _markers(signals, fills)
    shapes = _zones(frame, times, int(params.get("swing", 5))) if len(frame) >= 3 else []
    profile = volume_profile(frame.high, frame.low, frame.volume, bins=30)
    middles = (profile.edges[:-1] + profile.edges[1:]) / 2
    in_area = (middles >= profile.value_area_low) & (middles <= profile.value_area_high)
    traces.append(
        {
            "type": "bar",
            "name": "volume profile",
            "orientation": "h",
            "x": plot_floats(profile.volume),
            "y": plot_floats(middles),
            "marker": {
                "color": np.where(
                    in_area, "rgba(52,152,219,0.75)", "rgba(127,140,141,0.5)"
                ).tolist()
            },
            "hovertemplate": "%{y:,.2f}: %{x:,.2f}<extra>volume</extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        }
    )
    poc = float(profile.poc)
    shapes.append(_level(poc, "x", "y", {"color": "#f1c40f", "dash": "dash", "width": 1}))
    if oscillator:
        for index, (name, values) in enumerate(oscillator["lines"].items()):
            style = {"color": ("#f39c12", "#9b59b6")[index % 2], "width": 1.2}
            traces.append(_line(name, times, values, style, ("x3", "y3")))
        for level in oscillator["levels"]:
            shapes.append(_level(level, "x3", "y3", {"color": "#7f8c8d", "dash": "dot"}))
    layout = {
        "template": PLOT_TEMPLATE,
        "height": 560,
        "margin": {"l": 60, "r": 10, "t": 10, "b": 30},
        "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        "bargap": 0.05,
        **_axes(with_oscillator=bool(oscillator)),
        "annotations": [
            {
                "text": "POC",
                "showarrow": False,
                "xref": "x domain",
                "yref": "y",
                "x": 0,
                "y": poc,
                "xanchor": "left",
                "yanchor": "bottom",
            }
        ],
        "shapes": shapes,
    }
    return {"data": traces, "layout": layout}


def _points(name: str, x: list, y: list, marker: dict, text: list[str], hover: str) -> dict:
    """Markers on the price panel, each with its own hover text."""
    return {
        "type": "scatter",
        "name": name,
        "mode": "markers",
        "x": x,
        "y": y,
        "marker": marker,
        "text": text,
        "hovertemplate": hover + "<br>%{text}<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }


def _markers(signals: list[Signal], fills: list[Fill]) -> list[dict]:
    """Signals as triangles at their candle and price; fills as dots at their time and price."""
    markers = []
    for side, symbol, color in (
        ("buy", "triangle-up", "#2ecc71"),
        ("sell", "triangle-down", "#e74c3c"),
    ):
        chosen = [s for s in signals if s.side == side and s.candle_open_ms and s.price]
        if chosen:
            markers.append(
                _points(
                    f"{side} signal",
                    plot_times([s.candle_open_ms for s in chosen]),
                    [float(s.price) for s in chosen],
                    {"symbol": symbol, "size": 12, "color": color, "line": WHITE_EDGE},
                    [f"{s.status} · conf. {s.confidence:.2f} · {s.reason or ''}" for s in chosen],
                    "%{x|%Y-%m-%d %H:%M} UTC %{y:,.2f}",
                )
            )
    for side, name, color in (("buy", "entry", "#3498db"), ("sell", "exit", "#f1c40f")):
        chosen = [f for f in fills if f.side == side]
        if chosen:
            markers.append(
                _points(
                    f"{name} fill",
                    [f.filled_at for f in chosen],
                    [float(f.price) for f in chosen],
                    {"symbol": "circle", "size": 9, "color": color, "line": BLACK_EDGE},
                    [f"{f.quantity.normalize():f} @ {f.price:,.2f}" for f in chosen],
                    "%{x|%Y-%m-%d %H:%M} UTC",
                )
            )
    return markers
