"""A bot's page on a real desk: candles from the candle table with the strategy's own
indicators, its signals and fills as markers, FVG and order block zones, the volume
profile beside, and its orders and fills in grids scoped to the bot."""

import base64
import csv
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import botdesk
from botdesk.db import candles
from botdesk.db.models import Fill, Order, Signal
from tests.desk import grid_rows, render
from tests.factories import make_bot

pytestmark = pytest.mark.integration
SAMPLE = Path(botdesk.__file__).parent / "data" / "BTCUSDT-1m.csv"


def real_candles(count: int) -> list[dict]:
    with SAMPLE.open() as handle:
        rows = list(csv.DictReader(handle))[:count]
    return [
        {
            "symbol": "BTCUSDT",
            "timeframe": "1m",
            "open_time_ms": int(row["open_time_ms"]),
            **{k: Decimal(row[k]) for k in ("open", "high", "low", "close", "volume")},
        }
        for row in rows
    ]


def numbers(values) -> np.ndarray:
    """Plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values, dtype=float)


def figure_of(page: str) -> dict:
    def find(node):
        if isinstance(node, dict):
            if node.get("type") == "Graph":
                return node["props"]["figure"]
            for value in node.values():
                found = find(value)
                if found:
                    return found
        if isinstance(node, list):
            for value in node:
                found = find(value)
                if found:
                    return found
        return None

    return find(json.loads(page))


def test_chart_with_indicators_markers_zones_and_profile(desk):
    window = real_candles(400)
    with desk.db.writing() as session:
        candles.upsert(session=session, candles=window)
    bot = make_bot(desk.db, name="charted", params={"fast": 5, "slow": 13, "stop_atr": 2})
    other = make_bot(desk.db, name="other")
    signal_candle = window[-20]
    with desk.db.writing() as session:
        session.add(
            Signal(
                bot_id=bot.id,
                dedupe_key="c:x",
                symbol="BTCUSDT",
                timeframe="1m",
                candle_open_ms=signal_candle["open_time_ms"],
                side="buy",
                price=signal_candle["close"],
                reason="EMA 5 crossed above EMA 13",
            )
        )
        for owner, ident in ((bot, "mine"), (other, "theirs")):
            order = Order(
                bot_id=owner.id,
                client_order_id=ident,
                symbol="BTCUSDT",
                side="buy",
                quantity=Decimal("0.01"),
            )
            session.add(order)
            session.flush()
            moment = datetime.fromtimestamp(window[-19]["open_time_ms"] / 1000, UTC)
            session.add(
                Fill(
                    order_id=order.id,
                    bot_id=owner.id,
                    trade_id=ident,
                    symbol="BTCUSDT",
                    side="buy",
                    quantity=Decimal("0.01"),
                    price=window[-19]["open"],
                    filled_at=moment,
                )
            )
    viewer = desk.signed_in("detail-viewer")
    page = render(viewer, desk.base, f"/bots/{bot.id}")
    figure = figure_of(page)
    names = [trace.get("name") for trace in figure["data"]]
    assert names[:3] == ["price", "EMA 5", "EMA 13"]
    assert {"buy signal", "entry fill", "volume profile"} <= set(names)
    price = figure["data"][0]
    assert len(price["x"]) == 300  # the last 300 candles only
    assert numbers(price["close"])[-1] == pytest.approx(float(window[-1]["close"]))
    rectangles = [s for s in figure["layout"]["shapes"] if s["type"] == "rect"]
    assert rectangles, "no fair value gap or order block drawn on 300 real candles"

    orders = grid_rows(viewer, desk.base, "bot-orders", scope={"bot_id": bot.id})
    rows = orders['{"name":"bot-orders","type":"desk-grid"}']["getRowsResponse"]["rowData"]
    assert [row["client_order_id"] for row in rows] == ["mine"]
    href = orders['{"name":"bot-orders","type":"desk-grid-export"}']["href"]
    exported = viewer.get(desk.base + href).text.splitlines()
    assert len(exported) == 2 and ",mine," in exported[1]


def test_an_unknown_bot_says_so(desk):
    viewer = desk.signed_in("detail-viewer-2")
    assert "No such bot" in render(viewer, desk.base, "/bots/99999")
    assert "No such bot" in render(viewer, desk.base, "/bots/drop-table")
