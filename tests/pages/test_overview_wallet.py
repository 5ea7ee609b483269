"""The overview's wallet card on a real desk: each account's assets, held against the
bots' books, a shortfall flagged in red and a surplus in amber; a new reading of the
exchange re-renders the overview."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from botdesk.db import balances
from tests.db.test_balances import exchange_account
from tests.desk import dash_call, render
from tests.factories import make_bot
from tests.trips import at, trade

pytestmark = pytest.mark.integration
D = Decimal
SUMMARY = "..overview-summary.children...overview-marker.data.."
TICK = [{"id": "overview-summary-tick", "property": "n_intervals", "value": 1}]


def read(db, account_id: int, held: dict, minute: int) -> None:
    with db.writing() as session:
        balances.record(
            session=session,
            exchange_account_id=account_id,
            balances=held,
            at=datetime(2026, 12, 7, 9, minute, tzinfo=UTC),
        )


def test_the_wallet_sets_each_account_against_the_books(desk):
    paper = make_bot(desk.db, name="wl-paper", capital=D(20000))
    trade(desk.db, paper, "buy", "0.1", "60000", "6", at("2024-04-01T10:00:00"))
    account = exchange_account(desk.db, "wl-testnet")
    live = make_bot(
        desk.db, name="wl-live", broker="binance", exchange_account_id=account.id, capital=D(1000)
    )
    trade(desk.db, live, "buy", "0.01", "60000", "0.6", at("2024-04-01T11:00:00"))
    read(desk.db, account.id, {"BTC": (D("0.0099"), D(0)), "USDT": (D("5000"), D(0))}, 0)
    viewer = desk.signed_in("wl-viewer")
    page = render(viewer, desk.base, "/")
    assert "overview-wallet" in page and "Wallet: held vs books" in page
    assert " · its bots' books" in page  # the paper account
    assert '"wl-testnet"' in page and " · testnet, read 2026-12-07 09:00 UTC" in page
    assert '"13,994"' in page  # paper USDT: 20000 - 6000 - 6, held as booked
    # BTC: held 0.0099, booked 0.01: short by 0.0001, in red
    assert '"-0.0001"' in page and "text-danger fw-bold" in page
    assert '"+4,600.6"' in page  # USDT: 5000 held, 399.4 booked: a surplus, in amber
    first = dash_call(
        viewer, desk.base, SUMMARY, TICK,
        state=[{"id": "overview-marker", "property": "data", "value": None}],
    )  # fmt: skip
    marker = first.json()["response"]["overview-marker"]["data"]
    read(desk.db, account.id, {"BTC": (D("0.01"), D(0)), "USDT": (D("5000"), D(0))}, 5)
    again = dash_call(
        viewer, desk.base, SUMMARY, TICK,
        state=[{"id": "overview-marker", "property": "data", "value": marker}],
    )  # fmt: skip
    assert again.status_code == 200  # the exchange was read again: re-rendered
    assert "read 2026-12-07 09:05 UTC" in again.text and "-0.0001" not in again.text
