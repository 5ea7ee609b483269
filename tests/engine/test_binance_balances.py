"""The engine keeps each Binance account's balances for the desk: its reconciliation (the
real python-binance client against the local fake Binance) stores what `GET
/api/v3/account` answered, and a later reading replaces it."""

from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import balances
from botdesk.db.models import AccountBalance
from botdesk.engine.runtime import EngineRuntime
from tests.engine.binance_setup import binance_account, binance_bot, fake_binance, settings_for

pytestmark = pytest.mark.integration
D = Decimal


@pytest.fixture
def fake():
    with fake_binance(hold_seconds=1.0, balances={"USDT": "2500.5", "BTC": "0.25"}) as server:
        yield server


def stored(db) -> dict:
    with db.reading() as session:
        rows = session.exec(select(AccountBalance)).all()
    return {row.asset: (row.free, row.locked) for row in rows}


def test_reconciliation_stores_the_accounts_balances(db, fake):
    account_id = binance_account(db, fake)
    binance_bot(db, account_id, capital=D(1000))
    broker = EngineRuntime(db=db, settings=settings_for(db), engine_id="t").brokers.get("binance")
    assert stored(db) == {}
    broker.synchronize(db)
    assert stored(db) == {"USDT": (D("2500.5"), D(0)), "BTC": (D("0.25"), D(0))}
    with db.reading() as session:
        (wallet,) = balances.wallets(session=session)
    assert wallet.read_at is not None
    assert {h.asset: (h.held, h.booked, h.difference) for h in wallet.holdings} == {
        "BTC": (D("0.25"), D(0), D("0.25")),  # held by the account, in no bot's books
        "USDT": (D("2500.5"), D(1000), D("1500.5")),  # more than the bot's capital
    }
    client = fake.client()  # someone sells the BTC by hand on Binance
    client.order_market_sell(symbol="BTCUSDT", quantity="0.25", newClientOrderId="by-hand")
    broker.synchronize(db)
    usdt, _ = stored(db)["USDT"]
    assert "BTC" not in stored(db) and usdt > D("2500.5")
    assert usdt == fake.balances()["USDT"][0]
