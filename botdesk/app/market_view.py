"""What the Market page shows of a symbol, built from the engine's analysis: the candle
chart with its SMC zones and liquidity, the order-flow panel (delta bars and the
cumulative delta), the confluence score with its components, and the SMC summary.

Figures are plain dicts in the desk's plotly template, as the bot chart's are."""

from dataclasses import dataclass

import dash_bootstrap_components as dbc
import numpy as np
from dash import html

from botdesk.app import candle_chart
from botdesk.app.components import PLOT_TEMPLATE, empty_state, small_table
from botdesk.engine.analysis import (
    Confluence,
    NoOrderFlow,
    SmcAnalysis,
    order_flow,
    period_levels,
)
from botdesk.engine.frames import CandleFrame
from botdesk.engine.indicators import BULLISH

POOLS_SHOWN = 6
COMPONENT_NAMES = {
    "trend": "Trend alignment",
    "zones": "SMC zones",
    "volume_profile": "Volume profile",
    "order_flow": "Order flow",
}
GREEN, RED = "#2ecc71", "#e74c3c"


@dataclass(frozen=True)
class MarketView:
    """Everything the page renders for one symbol and timeframe."""

    frame: CandleFrame
    reading: SmcAnalysis
    confluence: Confluence | None
    confluence_error: str | None = None


def _level(y: float, color: str, dash: str) -> dict:
    return {
        "type": "line",
        "xref": "x domain",
        "yref": "y",
        "x0": 0,
        "x1": 1,
        "y0": float(y),
        "y1": float(y),
        "line": {"color": color, "width": 1, "dash": dash},
    }


def chart(view: MarketView, swing: int) -> dict:
    """The bot chart's figure (candles, fair value gaps and order blocks, volume profile)
    with the unswept liquidity pools (dotted) and the dealing range's equilibrium."""
    figure = candle_chart.figure(
        candles=view.frame, strategy="", params={"swing": swing}, signals=[], fills=[]
    )
    shapes = figure["layout"]["shapes"]
    pools = view.reading.pools
    live = np.flatnonzero(pools.swept_index < 0)[-POOLS_SHOWN:]
    for k in live:
        color = GREEN if pools.direction[k] == BULLISH else RED
        shapes.append(_level(pools.level[k], color, "dot"))
    dealing = view.reading.dealing
    if dealing.direction[-1] != 0:
        shapes.append(_level(dealing.equilibrium[-1], "#95a5a6", "dashdot"))
    figure["layout"]["height"] = 520
    return figure


def flow_figure(frame: CandleFrame) -> dict | None:
    """Delta per candle as bars (green above 0, red below) and the cumulative delta as a
    line on its own axis; None when the candles carry no taker volume."""
    try:
        flow = order_flow(frame)
    except NoOrderFlow:
        return None
    times = candle_chart.plot_times(frame.open_time_ms)
    delta = np.nan_to_num(flow.delta)
    return {
        "data": [
            {
                "type": "bar",
                "name": "delta",
                "x": times,
                "y": candle_chart.plot_floats(delta),
                "marker": {"color": np.where(delta >= 0, GREEN, RED).tolist()},
                "hovertemplate": "%{x|%Y-%m-%d %H:%M} UTC: %{y:,.4f}<extra>delta</extra>",
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "cumulative delta",
                "x": times,
                "y": candle_chart.plot_floats(flow.cumulative_delta),
                "line": {"color": "#f1c40f", "width": 1.5},
                "yaxis": "y2",
            },
        ],
        "layout": {
            "template": PLOT_TEMPLATE,
            "height": 240,
            "margin": {"l": 60, "r": 60, "t": 10, "b": 30},
            "legend": {"orientation": "h", "y": 1.02, "x": 0, "yanchor": "bottom"},
            "bargap": 0.1,
            "xaxis": {"title": {"text": "UTC"}},
            "yaxis": {"title": {"text": "delta"}},
            "yaxis2": {"title": {"text": "CVD"}, "overlaying": "y", "side": "right"},
        },
    }


def confluence_card(view: MarketView) -> dbc.Card:
    found = view.confluence
    if found is None:
        body = [html.H2("Confluence", className="h6"), empty_state(view.confluence_error or "")]
        return dbc.Card(dbc.CardBody(body), className="h-100", id="market-confluence")
    direction = "bullish" if found.direction == BULLISH else "bearish"
    rows = []
    for component in found.components:
        label = COMPONENT_NAMES.get(component.name, component.name)
        if not component.available:
            rows.append(html.Div([html.Span(label), " — no taker volume"], className="small"))
            continue
        rows.append(
            html.Div(
                [
                    html.Div(
                        [
                            html.Span(label),
                            html.Span(f"{component.points:.1f} / {component.weight:.0f}"),
                        ],
                        className="d-flex justify-content-between small",
                    ),
                    dbc.Progress(
                        value=component.part * 100, className="mb-2", style={"height": "6px"}
                    ),
                ],
                id=f"market-component-{component.name}",
            )
        )
    zones = [[f"{z.bottom:,.2f} to {z.top:,.2f}", ", ".join(z.sources)] for z in found.zones[:5]]
    timeframes = ", ".join(
        f"{tf} {'↑' if trend > 0 else '↓' if trend < 0 else '-'}"
        for tf, trend in found.trends.items()
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Confluence", className="h6 text-secondary text-uppercase"),
                html.Div(
                    [
                        html.Span(
                            f"{found.score:.0f}",
                            className="fs-2 fw-semibold me-2",
                            id="market-score",
                        ),
                        html.Span("/ 100 ", className="text-secondary"),
                        dbc.Badge(
                            direction, color="success" if found.direction == BULLISH else "danger"
                        ),
                    ]
                ),
                html.Div(timeframes, className="text-secondary small mb-2"),
                *rows,
                html.H3("Where readings coincide", className="h6 mt-3"),
                small_table(["price", "sources"], zones) if zones else empty_state("none near"),
            ]
        ),
        className="h-100",
        id="market-confluence",
    )


def _price(value) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:,.2f}"


def smc_card(view: MarketView, reference: CandleFrame) -> dbc.Card:
    """Trend, dealing range, the previous day's and week's levels, sessions, latest pools."""
    reading = view.reading
    trend = reading.structure.trend[-1]
    dealing = reading.dealing
    facts = [["trend", {1: "bullish", -1: "bearish"}.get(int(trend), "unknown")]]
    if dealing.direction[-1] != 0:
        position = float(dealing.position[-1])
        zone = "premium" if position > 0.5 else "discount" if position < 0.5 else "equilibrium"
        facts.append(["range", f"{_price(dealing.low[-1])} to {_price(dealing.high[-1])}"])
        facts.append(["position", f"{position * 100:.0f} % ({zone})"])
        facts.append(["retracement", f"{dealing.retracement[-1]:.0f} % of the leg"])
    for period in ("day", "week"):
        levels = period_levels(reference.open_time_ms, reference.high, reference.low, period)
        broken = [
            side
            for side, flag in (("high", levels.high_broken[-1]), ("low", levels.low_broken[-1]))
            if flag
        ]
        facts.append(
            [
                f"previous {period}",
                f"{_price(levels.previous_low[-1])} to {_price(levels.previous_high[-1])}"
                + (f" ({' and '.join(broken)} broken)" if broken else ""),
            ]
        )
    for session in reading.sessions:
        state = "open" if session.active[-1] else "closed"
        facts.append(
            [
                session.name.replace("_", " ").title(),
                f"{_price(session.low[-1])} to {_price(session.high[-1])} ({state})",
            ]
        )
    pools = reading.pools
    for k in np.flatnonzero(pools.swept_index < 0)[-3:]:
        side = "buy-side" if pools.direction[k] == BULLISH else "sell-side"
        facts.append(
            [f"{side} liquidity", f"{_price(pools.level[k])} ({len(pools.touches[k])} touches)"]
        )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H2("Structure", className="h6 text-secondary text-uppercase"),
                small_table(["", ""], facts),
            ]
        ),
        className="h-100",
        id="market-smc",
    )
