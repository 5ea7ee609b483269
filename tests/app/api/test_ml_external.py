"""`POST /api/v1/ml/external/<series>` through a real desk process: the fixture file's
points posted in batches become the same series as the file imported by the CLI (the
same feature column), a retried request changes nothing, and bad input gets a clear 4xx
with nothing stored."""

from pathlib import Path

import numpy as np
import pytest

from botdesk.ml import external, feature_set
from botdesk.ml.external import read_csv, with_external
from tests.factories import make_api_key, make_user

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).parents[2] / "ml" / "fixtures" / "btc_daily_return.csv"
HOUR = 3_600_000
URL = "/api/v1/ml/external/{}"


@pytest.fixture(scope="module")
def keys(desk):
    trader = make_user(desk.db, role="trader")
    viewer = make_user(desk.db, role="viewer")
    return {"trade": make_api_key(desk.db, trader, "trade"), "read": make_api_key(desk.db, viewer)}


def _fixture_points() -> list[dict]:
    lines = FIXTURE.read_text().splitlines()[1:]
    points = []
    for number, line in enumerate(lines):
        time, value = line.split(",")
        # half as ISO text (as the file), half as epoch ms: both forms of the API
        if number % 2:
            time = external.parse_time(time, "fixture")
        points.append({"time": time, "value": float(value)})
    return points


def _stored(db, name):
    with db.reading() as session:
        try:
            return external.load(session=session, name=name)
        except external.ExternalError:
            return None


def test_posted_points_are_the_series_the_file_gives(desk, keys):
    points = _fixture_points()
    for start in range(0, len(points), 50):  # as a publisher would, a batch at a time
        response = desk.call(
            "POST",
            URL.format("fear_greed"),
            keys["trade"],
            json={"points": points[start : start + 50]},
        )
        assert response.status_code == 200, response.text
        assert response.json()["added"] == len(points[start : start + 50])
    times, values = read_csv(FIXTURE)
    posted = _stored(desk.db, "fear_greed")
    assert np.array_equal(posted[0], times) and np.array_equal(posted[1], values)
    # as a feature: the same column as the file's series
    with desk.db.writing() as session:
        external.store(session=session, name="from_file", times=times, values=values)
    from tests.ml.conftest import shared_candles

    candles = shared_candles("BTCUSDT-1h.csv").between(1_638_316_800_000, 1_651_363_200_000)
    rows = feature_set.compute(candles, HOUR)
    both = external.load_all(desk.db, ("fear_greed", "from_file"))
    joined = with_external(rows, both, HOUR)
    column = joined.column("ext_fear_greed")
    assert np.isfinite(column).sum() > 1000
    assert np.array_equal(column, joined.column("ext_from_file"), equal_nan=True)
    # a retried batch is accepted and changes nothing; the next point is appended
    again = desk.call("POST", URL.format("fear_greed"), keys["trade"], json={"points": points[-3:]})
    assert again.status_code == 200
    assert again.json() == {
        "series": "fear_greed",
        "added": 0,
        "already_stored": 3,
        "latest_ms": int(times[-1]),
    }
    later = {"time": int(times[-1]) + 86_400_000, "value": -0.5}
    grown = desk.call("POST", URL.format("fear_greed"), keys["trade"], json={"points": [later]})
    assert grown.json()["added"] == 1
    assert len(_stored(desk.db, "fear_greed")[0]) == len(times) + 1


@pytest.mark.parametrize(
    "points,status,message",
    [
        ([{"time": "yesterday", "value": 1}], 400, "point 1: 'yesterday' is not a time"),
        ([{"time": "2022-01-02", "value": "high"}], 400, "value"),
        ([{"time": "2022-01-02", "value": 1, "note": "x"}], 400, "note"),
        (
            [{"time": "2022-01-03", "value": 1}, {"time": "2022-01-02", "value": 2}],
            400,
            "point 2: times must ascend",
        ),
        ([{"time": "2099-01-01", "value": 1}], 400, "point 1: 4070908800000 is in the future"),
        ([], 400, "points"),
        # the series holds 2022-01-02 .. 2022-05-01 (see the setup below)
        (
            [{"time": "2022-01-05T00:00:00Z", "value": 0.5}],
            409,
            "is stored with the value -0.013222; a stored point is never rewritten",
        ),
        (
            [{"time": "2022-01-05T12:00:00Z", "value": 0.5}],
            409,
            "is before the series' latest point",
        ),
    ],
)
def test_bad_points_are_refused_and_nothing_is_stored(desk, keys, points, status, message):
    times, values = read_csv(FIXTURE)
    with desk.db.writing() as session:
        external.store(session=session, name="checked", times=times, values=values)
    # a good point after the bad ones: the whole request is refused, so it is not stored
    tail = [{"time": "2022-06-01T00:00:00Z", "value": 1.0}] if points else []
    response = desk.call(
        "POST", URL.format("checked"), keys["trade"], json={"points": points + tail}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]
    stored = _stored(desk.db, "checked")
    assert np.array_equal(stored[0], times) and np.array_equal(stored[1], values)


def test_a_bad_name_a_read_key_or_no_key_is_refused(desk, keys):
    point = {"points": [{"time": 1_640_995_200_000, "value": 1}]}
    for name in ("Fear", "1x", "a" * 41, "fear-greed"):
        response = desk.call("POST", URL.format(name), keys["trade"], json=point)
        assert response.status_code == 400, name
        assert response.json()["error"]["code"] == "invalid_parameter"
    assert desk.call("POST", URL.format("unread"), keys["read"], json=point).status_code == 403
    assert desk.call("POST", URL.format("unread"), None, json=point).status_code == 401
    assert _stored(desk.db, "unread") is None
    assert _stored(desk.db, "fear") is None
