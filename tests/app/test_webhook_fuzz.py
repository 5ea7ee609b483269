"""Fuzzing the TradingView webhook (hypothesis) against a real desk: random bytes, random
JSON and near-valid alerts. No answer is a 5xx; whatever is accepted was a valid alert."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botdesk.db import webhook_tokens
from botdesk.db.models import Bot, Role, Signal
from botdesk.db.types import quantize
from tests.factories import make_bot

pytestmark = pytest.mark.integration

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
good_prices = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("9999999999"), places=8
).flatmap(lambda price: st.sampled_from([str(price), float(price)]))
prices = st.one_of(
    good_prices,
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.none(),
)
good_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)
alerts = st.fixed_dictionaries(
    {
        "alert_id": st.one_of(good_ids, good_ids, good_ids, st.text()),
        "action": st.sampled_from(["buy", "sell", "close", "Sell", "short", "", 3]),
        "symbol": st.sampled_from(["BTCUSDT", "BINANCE:BTCUSDT", "btcusdt", "ETHUSDT", "", None]),
        "price": st.one_of(good_prices, prices),
    },
    optional={"stop": prices, "take_profit": prices, "note": json_values},
)


@pytest.fixture(scope="module")
def hook(desk):
    bot = make_bot(desk.db, symbol="BTCUSDT")
    with desk.db.writing() as session:
        token = webhook_tokens.issue(
            session=session, bot=session.get(Bot, bot.id), actor="test", role=Role.ADMIN
        )
    return f"/webhook/tradingview/{token}"


def _check(desk, answer, payload=None, accepted=None):
    assert answer.status_code < 500, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    if answer.status_code in (200, 201):
        with desk.db.reading() as session:
            signal = session.get(Signal, answer.json()["signal_id"])
        assert signal.dedupe_key == f"tv:{payload['alert_id']}"
        if answer.status_code == 201:
            assert signal.price == quantize(Decimal(str(payload["price"])))
            if accepted is not None:
                accepted.append(signal.id)
    else:
        assert answer.json()["error"]["message"]


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes_never_make_a_5xx(desk, hook, body):
    _check(desk, desk.call("POST", hook, data=body))


@FUZZ
@given(payload=json_values)
def test_random_json_never_makes_a_5xx(desk, hook, payload):
    _check(desk, desk.call("POST", hook, json=payload))


def test_near_valid_alerts_are_accepted_only_when_valid(desk, hook):
    accepted: list[int] = []

    @FUZZ
    @given(payload=alerts)
    def post(payload):
        _check(desk, desk.call("POST", hook, json=payload), payload, accepted)

    post()
    assert len(accepted) >= 10, "too few valid alerts were generated to fuzz the accepting path"
