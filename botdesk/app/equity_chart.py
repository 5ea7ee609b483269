"""The overview's chart: the desk's equity above, its drawdown below, one time axis."""

from botdesk.app.components import PLOT_TEMPLATE

TIME_HOVER = "%{x|%Y-%m-%d %H:%M} UTC<br>"


def equity_figure(curve, height: int = 340) -> dict:
    """Equity above (USDT), drawdown below (percent), sharing the time axis."""
    return {
        "data": [
            {
                "type": "scatter",
                "x": curve["at"],
                "y": curve["equity"],
                "name": "Equity",
                "line": {"color": "#3498db"},
                "hovertemplate": TIME_HOVER + "%{y:,.2f} USDT<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                "type": "scatter",
                "x": curve["at"],
                "y": curve["drawdown"] * 100,
                "name": "Drawdown",
                "fill": "tozeroy",
                "line": {"color": "#e74c3c"},
                "hovertemplate": TIME_HOVER + "%{y:.2f} %<extra></extra>",
                "xaxis": "x2",
                "yaxis": "y2",
            },
        ],
        "layout": {
            "template": PLOT_TEMPLATE,
            "margin": {"l": 60, "r": 10, "t": 10, "b": 30},
            "height": height,
            "showlegend": False,
            "xaxis": {"anchor": "y", "matches": "x2", "showticklabels": False},
            "xaxis2": {"anchor": "y2", "title": {"text": "UTC"}},
            "yaxis": {
                "anchor": "x",
                "domain": [0.31, 1.0],
                "title": {"text": "USDT"},
                "tickformat": ",.0f",
            },
            "yaxis2": {
                "anchor": "x2",
                "domain": [0.0, 0.27],
                "title": {"text": "DD %"},
                "ticksuffix": " %",
            },
        },
    }
