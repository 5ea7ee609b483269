"""The equity chart: a plain figure plotly accepts as it is, the drawdown of the
time-weighted return below, capital flows marked on the equity (never drawn as P&L)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go

from botdesk.app.equity_chart import equity_figure
from botdesk.db.performance import FlowMark, Performance
from botdesk.db.twr import Step, time_weighted

DAY = datetime(2024, 10, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_equity_flows_and_drawdown_share_the_time_axis_in_plotlys_dark_theme():
    points = time_weighted(
        [
            Step(DAY, Decimal("10000")),
            Step(DAY + MINUTE, Decimal("9500")),
            Step(DAY + 2 * MINUTE, Decimal("13000"), Decimal("3500")),  # a bot created
        ]
    )
    created = FlowMark(DAY + 2 * MINUTE, Decimal("3500"), "created", 7, "new-bot", "admin")
    figure = equity_figure(Performance(points, [created]))
    equity, flows, drawdown = figure["data"]
    assert list(equity["y"]) == [10_000.0, 9_500.0, 13_000.0] and equity["yaxis"] == "y"
    assert flows["x"] == [DAY + 2 * MINUTE] and flows["y"] == [13_000.0]
    assert flows["text"] == ["new-bot: bot created, +3,500.00 USDT"]
    assert flows["marker"]["symbol"] == ["triangle-up"]
    # percent, of the time-weighted index: the 3500 coming in is no recovery
    assert list(drawdown["y"]) == [0.0, -5.0, -5.0] and drawdown["yaxis"] == "y2"
    layout = figure["layout"]
    assert layout["xaxis"]["matches"] == "x2" and layout["yaxis2"]["ticksuffix"] == " %"
    assert layout["template"]["layout"]["font"]["color"] == "#f2f5fa"  # plotly_dark's
    assert layout["template"]["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"  # the page's own
    assert go.Figure(figure).layout.yaxis2.domain == (0.0, 0.27)  # valid to plotly itself
