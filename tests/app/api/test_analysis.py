"""The market and analysis endpoints through a real desk, on a month of real BTCUSDT 5m
klines imported with `botdesk data import` (15m, 1h and 4h built from them): the answers
are the engine's own functions on the same candles, computed as of the window's end and
never from a later candle, and every bad request gets a clear 4xx."""

from decimal import Decimal

import numpy as np
import pytest

from botdesk.app.api.analysis_json import iso
from botdesk.engine.analysis import (
    confluence,
    order_flow,
    profile_levels,
    setups,
    smc_analysis,
)
from botdesk.engine.history import import_file
from botdesk.engine.klines import load_klines
from botdesk.engine.timeframes import aggregate
from tests.conftest import SHARED_DATA
from tests.factories import make_api_key, make_bot, make_user

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent"),
]

FIVE = SHARED_DATA / "BTCUSDT-5m.csv"
CUT = 6000  # BTCCUT holds the file's first 6001 candles only


@pytest.fixture(scope="module")
def btc():
    return load_klines(FIVE).candles


@pytest.fixture(scope="module")
def key(desk, tmp_path_factory):
    import_file(desk.db, FIVE, symbol="BTCUSDT", timeframe="5m")
    import_file(desk.db, SHARED_DATA / "ETHUSDT-1h.csv", symbol="ETHUSDT", timeframe="1h")
    lines = FIVE.read_text().splitlines()
    cut = tmp_path_factory.mktemp("cut") / "history.csv"
    cut.write_text("\n".join(lines[: CUT + 2]) + "\n")  # the header and candles 0..CUT
    import_file(desk.db, cut, symbol="BTCCUT", timeframe="5m")
    return make_api_key(desk.db, make_user(desk.db, role="viewer"), "read")


def get(desk, key, path: str, **params):
    response = desk.call("GET", f"/api/v1/{path}", key, params=params)
    return response.status_code, response.json()


def test_candles_are_the_stored_klines_exactly(desk, key):
    status, body = get(desk, key, "market/BTCUSDT/candles", limit=2, to="2025-08-19T15:15:00Z")
    assert status == 200
    assert (body["symbol"], body["timeframe"], body["candles"]) == ("BTCUSDT", "5m", 2)
    first = body["items"][0]  # line 2 of BTCUSDT-5m.csv
    assert first["open_time"] == "2025-08-19T15:10:00+00:00"
    assert (first["open"], first["close"], first["volume"]) == (
        "113782.30000000",
        "113652.00000000",
        "181.00846000",
    )
    assert first["trades"] == 26760
    assert first["taker_buy_base_volume"] == "82.13538000"
    assert first["quote_volume"] == "20579570.45829340"
    assert body["as_of"] == "2025-08-19T15:20:00+00:00"
    status, hours = get(desk, key, "market/ETHUSDT/candles", timeframe="1h", limit=1)
    assert hours["items"][0]["taker_buy_base_volume"] is None  # the 1h file has none
    status, span = get(
        desk, key, "market/BTCUSDT/candles", timeframe="1h", **{"from": "2025-08-20T00:00:00Z"},
        to="2025-08-20T23:00:00Z",
    )  # fmt: skip
    assert span["candles"] == 24 and span["last"] == "2025-08-20T23:00:00+00:00"
    status, newest = get(
        desk, key, "market/BTCUSDT/candles", timeframe="1h", limit=5,
        **{"from": "2025-08-20T00:00:00Z"}, to="2025-08-20T23:00:00Z",
    )  # fmt: skip
    assert newest["candles"] == 5 and newest["first"] == "2025-08-20T19:00:00+00:00"


def test_ticker_by_hand(desk, key, btc):
    status, body = get(desk, key, "market/BTCUSDT/ticker")
    assert status == 200 and body["from_timeframe"] == "5m"
    day = btc[-288:]  # the 288 five-minute candles of the last 24 hours
    assert body["last"] == btc.close[-1]
    assert body["open_24h"] == day.open[0]
    assert body["change_24h"] == pytest.approx(btc.close[-1] - day.open[0])
    assert body["high_24h"] == day.high.max() and body["low_24h"] == day.low.min()
    assert body["volume_24h"] == pytest.approx(day.volume.sum())
    assert body["trades_24h"] == int(day.trades.sum())
    assert body["complete"] is True
    assert body["as_of"] == "2025-09-18T15:05:00+00:00"


def test_smc_is_the_engines_reading_of_the_window(desk, key, btc):
    status, body = get(desk, key, "analysis/BTCUSDT/smc", limit=600)
    assert status == 200
    reading = smc_analysis(btc[-600:])
    assert body["candles"] == 600
    assert body["structure"]["trend"] == {1: "bullish", -1: "bearish"}[reading.structure.trend[-1]]
    blocks = reading.blocks
    last = body["order_blocks"][-1]
    assert (last["top"], last["bottom"]) == (blocks.top[-1], blocks.bottom[-1])
    assert last["strength"] == pytest.approx(reading.block_strength[-1] * 100)
    gaps = body["fair_value_gaps"]
    assert gaps[-1]["filled"] == bool(reading.gaps.filled_index[-1] >= 0)
    pools = body["liquidity"]
    assert all(pool["touches"] >= 2 for pool in pools)
    assert pools[-1]["level"] == reading.pools.level[-1]
    dealing = body["dealing_range"]
    assert dealing["position_percent"] == pytest.approx(reading.dealing.position[-1] * 100)
    assert dealing["zone"] == ("premium" if reading.dealing.position[-1] > 0.5 else "discount")
    assert body["fibonacci"]["retracements"][2]["price"] == pytest.approx(
        reading.dealing.equilibrium[-1]
    )  # 50 % of the leg is its middle
    # the previous UTC day (2025-09-17) from the stored 1h candles
    day = btc.between(1758067200000, 1758153600000 - 1)
    assert body["previous_day"]["high"] == day.high.max()
    assert body["previous_day"]["low"] == day.low.min() and body["previous_day"]["whole"]
    assert {s["name"] for s in body["sessions"]} == {"asia", "london", "new_york"}
    found = reading.patterns.found(590)  # the patterns of the last 10 candles
    assert [(p["time"], p["pattern"]) for p in body["patterns"]] == [
        (iso(int(btc.open_time_ms[-600 + p.index])), p.code) for p in found
    ]


def test_volume_profile_and_order_flow(desk, key, btc):
    status, body = get(desk, key, "analysis/BTCUSDT/volume-profile", limit=300, bins=30)
    window = btc[-300:]
    levels = profile_levels(window.high, window.low, window.volume, bins=30)
    assert status == 200
    assert body["poc"] == pytest.approx(levels.profile.poc)
    assert body["value_area_high"] == pytest.approx(levels.profile.value_area_high)
    assert len(body["bins"]) == 30
    assert [n["price"] for n in body["high_volume_nodes"]] == pytest.approx(
        levels.middles[levels.high_nodes].tolist()
    )
    status, flow = get(desk, key, "analysis/BTCUSDT/order-flow", limit=200)
    expected = order_flow(btc[-200:])
    assert status == 200 and len(flow["items"]) == 200
    assert flow["items"][-1]["delta"] == pytest.approx(expected.delta[-1])
    assert flow["items"][-1]["cumulative_delta"] == pytest.approx(expected.cumulative_delta[-1])
    assert flow["delta"] == pytest.approx(expected.delta.sum())
    flagged = [i for i, row in enumerate(flow["items"]) if row["absorption"]]
    assert flagged == np.flatnonzero(expected.absorption).tolist()
    status, refused = get(desk, key, "analysis/ETHUSDT/order-flow", timeframe="1h")
    assert status == 422 and refused["error"]["code"] == "no_order_flow"


def engine_frames(btc, to_index: int) -> dict:
    """What the desk reads for the confluence as of candle `to_index`'s close: 600 candles
    of each timeframe closed by then."""
    close = int(btc.open_time_ms[to_index]) + 300_000
    frames = {"5m": btc[to_index - 599 : to_index + 1]}
    for name, length in (("15m", 900_000), ("1h", 3_600_000), ("4h", 14_400_000)):
        built = aggregate(btc[10:], name, source_interval_ms=300_000)
        frames[name] = built.between(None, close - length).tail(600)
    return frames


def test_confluence_and_setups_are_the_engines(desk, key, btc):
    status, body = get(desk, key, "analysis/BTCUSDT/confluence")
    assert status == 200
    expected = confluence(engine_frames(btc, len(btc) - 1))
    assert body["score"] == pytest.approx(expected.score)
    assert [c["points"] for c in body["components"]] == pytest.approx(
        [c.points for c in expected.components]
    )
    assert body["zones"][0]["sources"] == list(expected.zones[0].sources)
    assert set(body["timeframes"]) == {"5m", "15m", "1h", "4h"}
    to = "2025-09-01T12:00:00Z"  # candle 3733 (2025-09-01 12:00 UTC)
    index = int(np.searchsorted(btc.open_time_ms, 1756728000000))
    status, found = get(desk, key, "analysis/BTCUSDT/setups", to=to, capital="10000")
    assert status == 200
    listed, scored = setups(engine_frames(btc, index))
    assert [s["kind"] for s in found["setups"]] == [s.kind for s in listed]
    assert found["scores"]["long"] == pytest.approx(scored[1].score)
    long = next(s for s in found["setups"] if s["direction"] == "long")
    assert Decimal(long["size"]["quantity"]) > 0
    assert "global" in long["size"]["note"]


def test_setup_size_follows_the_bots_capital_and_risk_limits(desk, key):
    from botdesk.db import risk_limits

    bot = make_bot(desk.db, capital=Decimal("100000"))
    with desk.db.writing() as session:
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="0.05", bot_id=bot.id, by="test"
        )
        risk_limits.set_limit(
            session=session, kind="max_position_notional", value="1000000", bot_id=bot.id, by="test"
        )
    status, found = get(
        desk, key, "analysis/BTCUSDT/setups", to="2025-09-01T12:00:00Z", bot_id=bot.id
    )
    long = next(s for s in found["setups"] if s["direction"] == "long")
    entry, stop = Decimal(str(long["entry"])), Decimal(str(long["stop"]))
    # 0.05 % of 100000 at risk over the stop distance (engine/sizing.risk_quantity), rounded
    # down; far below what the capital buys and the max position allows
    expected = (Decimal("50") / (entry - stop)).quantize(
        Decimal("0.00000001"), rounding="ROUND_DOWN"
    )
    assert Decimal(long["size"]["quantity"]) == expected
    assert f"bot {bot.id}" in long["size"]["note"]
    short = [s for s in found["setups"] if s["direction"] == "short"]
    assert all(s["size"]["quantity"] is None for s in short)
    status, _ = get(desk, key, "analysis/BTCUSDT/setups", bot_id=999999)
    assert status == 404


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("market/{symbol}/candles", {"limit": 50}),
        ("market/{symbol}/ticker", {}),
        ("analysis/{symbol}/smc", {}),
        ("analysis/{symbol}/volume-profile", {}),
        ("analysis/{symbol}/order-flow", {}),
        ("analysis/{symbol}/confluence", {}),
        ("analysis/{symbol}/setups", {"capital": "5000"}),
    ],
)
def test_nothing_after_to_changes_an_answer(desk, key, path, params):
    """BTCUSDT holds the whole month; BTCCUT the same candles up to candle 6000 only. As of
    candle 6000 both must answer the same, so no later candle reached the answer."""
    to = "2025-09-09T11:10:00Z"  # candle 6000's open
    status_cut, cut = get(desk, key, path.format(symbol="BTCCUT"), **params)
    assert status_cut == 200, cut
    assert cut["as_of"] == "2025-09-09T11:15:00+00:00"
    if "ticker" in path:  # as of the newest candle: nothing to cut; BTCCUT's is candle 6000's
        return
    status, whole = get(desk, key, path.format(symbol="BTCUSDT"), to=to, **params)
    assert status == 200
    assert whole.pop("symbol") == "BTCUSDT" and cut.pop("symbol") == "BTCCUT"
    assert whole == cut


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("analysis/NOPEUSDT/smc", {}, 404, "unknown_symbol"),
        ("analysis/btcusdt/smc", {}, 400, "invalid_parameter"),
        ("analysis/BTCUSDT/smc", {"timeframe": "1m"}, 404, "no_candles"),
        ("analysis/BTCUSDT/smc", {"limit": 20}, 422, "not_enough_history"),
        ("analysis/BTCUSDT/smc", {"timeframe": "2h"}, 400, "invalid_parameter"),
        (
            "analysis/BTCUSDT/smc",
            {"from": "2025-09-02T00:00:00Z", "to": "2025-09-01T00:00:00Z"},
            404,
            "no_candles",
        ),
        ("market/BTCUSDT/candles", {"from": "2025-08-01T00:00:00Z"}, 400, "invalid_parameter"),
        ("analysis/BTCUSDT/confluence", {"timeframes": "5m,2h"}, 400, "invalid_parameter"),
        ("analysis/BTCUSDT/confluence", {"to": "2025-08-20T00:00:00Z"}, 422, "not_enough_history"),
        ("analysis/BTCUSDT/smc", {"swing": 1}, 400, "invalid_parameter"),
        ("analysis/BTCUSDT/setups", {"capital": "-5"}, 400, "invalid_parameter"),
    ],
)
def test_bad_requests_are_refused_clearly(desk, key, path, params, status, code):
    got, body = get(desk, key, path, **params)
    assert got == status, body
    assert body["error"]["code"] == code
    assert body["error"]["message"]
