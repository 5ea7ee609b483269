"""The equity chart of the overview and a bot's page: equity above with the capital flows
marked (money in or out, never P&L), the drawdown of the time-weighted return below, one
time axis."""

from botdesk.app.components import PLOT_TEMPLATE
from botdesk.db.performance import Performance

TIME_HOVER = "%{x|%Y-%m-%d %H:%M} UTC<br>"
FLOW_WORDS = {"created": "bot created", "changed": "capital changed", "deleted": "bot deleted"}


def flow_text(mark) -> str:
    return f"{mark.bot_name}: {FLOW_WORDS.get(mark.kind, mark.kind)}, {mark.amount:+,.2f} USDT"


def equity_figure(performance: Performance, height: int = 340) -> dict:
    """Equity above (USDT) with flow markers, drawdown of the TWR below (percent)."""
    points = performance.points
    times = [point.at for point in points]
    # floats for the chart only, never the ledger
    equity_by_time = {point.at: float(point.equity) for point in points}
    marks = [mark for mark in performance.marks if mark.at in equity_by_time]
    return {
        "data": [
            {
                "type": "scatter",
                "x": times,
                "y": [float(point.equity) for point in points],
                "name": "Equity",
                "line": {"color": "#3498db"},
                "hovertemplate": TIME_HOVER + "%{y:,.2f} USDT<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                "type": "scatter",
                "mode": "markers",
                "x": [mark.at for mark in marks],
                "y": [equity_by_time[mark.at] for mark in marks],
                "text": [flow_text(mark) for mark in marks],
                "name": "Capital flows",
                "marker": {
                    "symbol": [
                        "triangle-up" if mark.amount > 0 else "triangle-down" for mark in marks
                    ],
                    "size": 11,
                    "color": "#f1c40f",
                },
                "hovertemplate": TIME_HOVER + "%{text} (a flow, not P&L)<extra></extra>",
                "xaxis": "x",
                "yaxis": "y",
            },
            {
                "type": "scatter",
                "x": times,
                "y": [float(point.drawdown * 100) for point in points],
                "name": "Drawdown",
                "fill": "tozeroy",
                "line": {"color": "#e74c3c"},
                "hovertemplate": TIME_HOVER + "%{y:.2f} % (time-weighted)<extra></extra>",
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
