"""The Market page on a real desk, its callbacks called over HTTP as the renderer calls
them: a month of real BTCUSDT 5m klines with taker volume (and the 15m, 1h, 4h built
from them) and ETHUSDT 1h klines without it, imported with `botdesk data import`."""

import json

import numpy as np
import pytest

from botdesk.engine.analysis import confluence, order_flow
from botdesk.engine.history import import_file
from botdesk.engine.klines import load_klines
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA
from tests.desk import RunningDesk, dash_call, render
from tests.pages.test_bot_detail import numbers

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent"),
]

BODY = "..market-body.children...market-marker.data.."
TIMEFRAMES = "..market-timeframe.options...market-timeframe.value.."


@pytest.fixture(scope="module")
def viewer(desk):
    import_file(desk.db, SHARED_DATA / "BTCUSDT-5m.csv", symbol="BTCUSDT", timeframe="5m")
    import_file(desk.db, SHARED_DATA / "ETHUSDT-1h.csv", symbol="ETHUSDT", timeframe="1h")
    return desk.signed_in("market-viewer", "viewer")


def show(desk, client, symbol, timeframe, shown=None, changed=None):
    return dash_call(
        client,
        desk.base,
        BODY,
        inputs=[
            {"id": "market-symbol", "property": "value", "value": symbol},
            {"id": "market-timeframe", "property": "value", "value": timeframe},
            {"id": "market-tick", "property": "n_intervals", "value": 1},
        ],
        changed=changed,
        state=[{"id": "market-marker", "property": "data", "value": shown}],
    )


def components(answer: dict) -> dict:
    """Every component of the answer with an id: {id: its props}."""
    found = {}

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found[props["id"]] = props
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(answer)
    return found


def graphs(answer: dict) -> dict:
    return {
        name: props["figure"] for name, props in components(answer).items() if "figure" in props
    }


def test_the_page_offers_the_stored_symbols_and_their_timeframes(desk, viewer):
    page = render(viewer, desk.base, "/market")
    assert '"value":"BTCUSDT"' in page and "ETHUSDT" in page
    answer = dash_call(
        viewer,
        desk.base,
        TIMEFRAMES,
        inputs=[{"id": "market-symbol", "property": "value", "value": "ETHUSDT"}],
        state=[{"id": "market-timeframe", "property": "value", "value": "5m"}],
    ).json()["response"]
    options = answer["market-timeframe"]["options"]
    assert [o["value"] for o in options] == ["1h", "4h"]
    assert answer["market-timeframe"]["value"] == "1h"  # 5m is not stored for ETHUSDT


def test_chart_order_flow_and_confluence_are_the_engines(desk, viewer):
    response = show(desk, viewer, "BTCUSDT", "5m")
    assert response.status_code == 200, response.text[:500]
    answer = response.json()["response"]
    figures = graphs(answer)
    five = load_klines(SHARED_DATA / "BTCUSDT-5m.csv").candles
    window = five[-300:]
    price = figures["market-chart"]["data"][0]
    assert np.array_equal(numbers(price["close"]), window.close)
    flow = figures["market-flow-graph"]["data"]
    expected = order_flow(window)
    assert np.allclose(numbers(flow[0]["y"]), expected.delta)
    assert np.allclose(numbers(flow[1]["y"]), expected.cumulative_delta)
    frames = {"5m": five[-600:]}
    for name in ("15m", "1h", "4h"):
        frames[name] = aggregate(five[10:], name, source_interval_ms=300_000).tail(600)
    score = confluence(frames).score
    text = json.dumps(answer)
    assert f'"children": "{score:.0f}", "className": "fs-2' in text.replace(
        '"id": "market-score", ', ""
    )
    for name in ("trend", "zones", "volume_profile", "order_flow"):
        assert f"market-component-{name}" in text
    assert "previous day" in text and "New York" in text
    marker = answer["market-marker"]["data"]
    assert marker == ["BTCUSDT", "5m", int(five.open_time_ms[-1])]
    again = show(desk, viewer, "BTCUSDT", "5m", shown=marker, changed=["market-tick.n_intervals"])
    assert again.status_code == 204  # nothing newer: nothing re-rendered


def test_without_taker_volume_the_page_says_so(desk, viewer):
    answer = show(desk, viewer, "ETHUSDT", "1h").json()["response"]
    text = json.dumps(answer)
    assert "market-no-flow" in text and "carry no taker-buy volume" in text
    assert "market-chart" in graphs(answer)
    assert "no taker volume" in text  # the confluence's order-flow component is unavailable


def test_an_empty_desk_says_where_candles_come_from(tmp_path, sqlite_url):
    desk = RunningDesk(sqlite_url, tmp_path / "empty")
    try:
        client = desk.signed_in("lonely", "viewer")
        page = render(client, desk.base, "/market")
    finally:
        desk.stop()
    assert "market-empty" in page and "botdesk data import" in page
