"""`GET /api/v1/balances` through a real desk: the paper account from its bots' books, an
exchange account's stored balances against its bots' books, exact money, read scope."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from botdesk.db import balances
from tests.db.test_balances import exchange_account
from tests.factories import make_api_key, make_bot, make_user
from tests.trips import at, trade

pytestmark = pytest.mark.integration
D = Decimal


def test_balances_per_account_and_asset(desk):
    db = desk.db
    paper = make_bot(db, name="api-bal-paper", capital=D(20000))
    trade(db, paper, "buy", "0.1", "60000", "6", at("2024-04-01T10:00:00"))
    account = exchange_account(db, "api-bal-testnet")
    make_bot(db, name="api-bal-live", broker="binance", exchange_account_id=account.id)
    read = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    with db.writing() as session:
        balances.record(
            session=session,
            exchange_account_id=account.id,
            balances={"USDT": (D("9000.12345678"), D("500"))},
            at=read,
        )
    key = make_api_key(db, make_user(db, role="viewer"), "read")
    answer = desk.call("GET", "/api/v1/balances", key)
    assert answer.status_code == 200, answer.text
    wallets = {item["account"]: item for item in answer.json()["items"]}
    assert wallets["paper"]["assets"] == [
        {
            "asset": "BTC",
            "free": "0.10000000",
            "locked": "0.00000000",
            "total": "0.10000000",
            "booked": "0.10000000",
            "difference": "0.00000000",
        },
        {  # 20000 - 6000 - 6
            "asset": "USDT",
            "free": "13994.00000000",
            "locked": "0.00000000",
            "total": "13994.00000000",
            "booked": "13994.00000000",
            "difference": "0.00000000",
        },
    ]
    testnet = wallets["api-bal-testnet"]
    assert (testnet["environment"], testnet["read_at"]) == ("testnet", read.isoformat())
    assert testnet["assets"] == [
        {
            "asset": "USDT",
            "free": "9000.12345678",
            "locked": "500.00000000",
            "total": "9500.12345678",
            "booked": "10000.00000000",
            "difference": "-499.87654322",
        }
    ]
    assert desk.call("GET", "/api/v1/balances", None).status_code == 401
    assert desk.call("GET", "/api/v1/balances?account=1", key).status_code == 400
