"""A bot's candle chart: candlesticks with its strategy's indicators (computed by the
engine's own indicator functions), its signals and fills as markers, fair value gaps and
order blocks as shaded zones, and the volume profile of the window beside the price."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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


def _times(ms) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(ms, dtype=np.int64), unit="ms", utc=True)


def _zones(figure: go.Figure, frame: CandleFrame, times, swing: int) -> None:
    last = len(frame) - 1
    gaps = fair_value_gaps(frame.high, frame.low, frame.close, 0.0002)
    for k in range(max(0, len(gaps) - ZONES_SHOWN), len(gaps)):
        end = gaps.filled_index[k] if gaps.filled_index[k] >= 0 else last
        color = (BULL if gaps.direction[k] > 0 else BEAR).format(a=0.18)
        figure.add_shape(
            type="rect",
            x0=times[gaps.index[k] - 2],
            x1=times[end],
            y0=gaps.bottom[k],
            y1=gaps.top[k],
            fillcolor=color,
            line_width=0,
            layer="below",
            row=1,
            col=1,
        )
    structure = market_structure(
        frame.high, frame.low, frame.close, swing_points(frame.high, frame.low, swing)
    )
    blocks = order_blocks(frame.open, frame.high, frame.low, frame.close, structure)
    for k in range(max(0, len(blocks) - ZONES_SHOWN), len(blocks)):
        ends = [i for i in (blocks.mitigated_index[k], blocks.broken_index[k]) if i >= 0]
        end = min(ends) if ends else last
        color = (BULL if blocks.direction[k] > 0 else BEAR).format(a=0.30)
        figure.add_shape(
            type="rect",
            x0=times[blocks.index[k]],
            x1=times[end],
            y0=blocks.bottom[k],
            y1=blocks.top[k],
            fillcolor=color,
            line={"color": color, "width": 1},
            layer="below",
            row=1,
            col=1,
        )


def figure(
    *,
    candles: list[Candle],
    strategy: str,
    params: dict,
    signals: list[Signal],
    fills: list[Fill],
) -> go.Figure:
    frame = CandleFrame.from_rows(candles)
    times = _times(frame.open_time_ms)
    lines, oscillator = overlays(strategy, params, frame)
    rows = 2 if oscillator else 1
    chart = make_subplots(
        rows=rows,
        cols=2,
        shared_xaxes="columns",
        shared_yaxes="rows",
        column_widths=[0.86, 0.14],
        row_heights=[0.75, 0.25] if rows == 2 else [1.0],
        horizontal_spacing=0.01,
        vertical_spacing=0.04,
        specs=[[{}, {}]] + ([[{}, None]] if rows == 2 else []),
    )
    chart.add_trace(
        go.Candlestick(
            x=times,
            open=frame.open,
            high=frame.high,
            low=frame.low,
            close=frame.close,
            name="price",
            increasing_line_color="#2ecc71",
            decreasing_line_color="#e74c3c",
        ),
        row=1,
        col=1,
    )
    for line in lines:
        chart.add_trace(
            go.Scatter(
                x=times,
                y=line.values,
                name=line.name,
                mode="lines",
                line={"color": line.color, "width": 1.3, "dash": line.dash},
            ),
            row=1,
            col=1,
        )
    _markers(chart, signals, fills)
    if len(frame) >= 3:
        _zones(chart, frame, times, int(params.get("swing", 5)))
    profile = volume_profile(frame.high, frame.low, frame.volume, bins=30)
    middles = (profile.edges[:-1] + profile.edges[1:]) / 2
    in_area = (middles >= profile.value_area_low) & (middles <= profile.value_area_high)
    chart.add_trace(
        go.Bar(
            x=profile.volume,
            y=middles,
            orientation="h",
            name="volume profile",
            marker_color=np.where(in_area, "rgba(52,152,219,0.75)", "rgba(127,140,141,0.5)"),
            hovertemplate="%{y:,.2f}: %{x:,.2f}<extra>volume</extra>",
        ),
        row=1,
        col=2,
    )
    chart.add_hline(
        y=profile.poc,
        line_dash="dash",
        line_color="#f1c40f",
        line_width=1,
        annotation_text="POC",
        annotation_position="top left",
        row=1,
        col=1,
    )
    if oscillator:
        for index, (name, values) in enumerate(oscillator["lines"].items()):
            color = ("#f39c12", "#9b59b6")[index % 2]
            chart.add_trace(
                go.Scatter(
                    x=times, y=values, name=name, mode="lines", line={"color": color, "width": 1.2}
                ),
                row=2,
                col=1,
            )
        for level in oscillator["levels"]:
            chart.add_hline(y=level, line_dash="dot", line_color="#7f8c8d", row=2, col=1)
    chart.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        height=560,
        margin={"l": 60, "r": 10, "t": 10, "b": 30},
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
        bargap=0.05,
    )
    chart.update_yaxes(title_text="USDT", tickformat=",.2f", row=1, col=1)
    chart.update_xaxes(showticklabels=False, row=1, col=2)
    chart.update_xaxes(title_text="UTC", row=rows, col=1)
    return chart


def _markers(chart: go.Figure, signals: list[Signal], fills: list[Fill]) -> None:
    for side, symbol, color in (
        ("buy", "triangle-up", "#2ecc71"),
        ("sell", "triangle-down", "#e74c3c"),
    ):
        chosen = [s for s in signals if s.side == side and s.candle_open_ms and s.price]
        if chosen:
            chart.add_trace(
                go.Scatter(
                    x=_times([s.candle_open_ms for s in chosen]),
                    y=[float(s.price) for s in chosen],
                    mode="markers",
                    name=f"{side} signal",
                    marker={
                        "symbol": symbol,
                        "size": 12,
                        "color": color,
                        "line": {"color": "white", "width": 1},
                    },
                    text=[
                        f"{s.status} · conf. {s.confidence:.2f} · {s.reason or ''}" for s in chosen
                    ],
                    hovertemplate="%{x|%Y-%m-%d %H:%M} UTC %{y:,.2f}<br>%{text}<extra></extra>",
                ),
                row=1,
                col=1,
            )
    for side, name, color in (("buy", "entry", "#3498db"), ("sell", "exit", "#f1c40f")):
        chosen = [f for f in fills if f.side == side]
        if chosen:
            chart.add_trace(
                go.Scatter(
                    x=[f.filled_at for f in chosen],
                    y=[float(f.price) for f in chosen],
                    mode="markers",
                    name=f"{name} fill",
                    marker={
                        "symbol": "circle",
                        "size": 9,
                        "color": color,
                        "line": {"color": "black", "width": 1},
                    },
                    text=[f"{f.quantity.normalize():f} @ {f.price:,.2f}" for f in chosen],
                    hovertemplate="%{x|%Y-%m-%d %H:%M} UTC<br>%{text}<extra></extra>",
                ),
                row=1,
                col=1,
            )
