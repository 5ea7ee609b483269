"""The overview's equity chart: a plain figure plotly accepts as it is."""

from datetime import UTC, datetime, timedelta

import pandas
import plotly.graph_objects as go

from botdesk.app.equity_chart import equity_figure

DAY = datetime(2024, 10, 30, tzinfo=UTC)


def test_equity_and_drawdown_share_the_time_axis_in_plotlys_dark_theme():
    curve = pandas.DataFrame(
        {
            "at": [DAY, DAY + timedelta(minutes=1)],
            "equity": [10_000.0, 9_500.0],
            "drawdown": [0.0, -0.05],
        }
    )
    figure = equity_figure(curve)
    equity, drawdown = figure["data"]
    assert list(equity["y"]) == [10_000.0, 9_500.0] and equity["yaxis"] == "y"
    assert list(drawdown["y"]) == [0.0, -5.0] and drawdown["yaxis"] == "y2"  # percent
    layout = figure["layout"]
    assert layout["xaxis"]["matches"] == "x2" and layout["yaxis2"]["ticksuffix"] == " %"
    assert layout["template"]["layout"]["font"]["color"] == "#f2f5fa"  # plotly_dark's
    assert layout["template"]["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"  # the page's own
    assert go.Figure(figure).layout.yaxis2.domain == (0.0, 0.27)  # valid to plotly itself
