"""Balances per account and asset against the bots' books, worked out by hand, on SQLite
and PostgreSQL: the paper account is its bots' books; an exchange account's stored
balances (as the engine read them) are set against its bots' cash and positions."""

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import select

from botdesk.db import balances
from botdesk.db.models import AccountBalance, ExchangeAccount
from tests.factories import make_bot
from tests.trips import at, trade

D = Decimal
READ = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def exchange_account(db, name: str) -> ExchangeAccount:
    with db.writing() as session:
        account = ExchangeAccount(
            name=name, api_key_encrypted="x", api_secret_encrypted="x", api_key_last4="abcd"
        )
        session.add(account)
    return account


def held(wallet) -> dict:
    return {h.asset: (h.free, h.locked, h.booked, h.difference) for h in wallet.holdings}


def test_paper_and_exchange_accounts_against_the_books(db):
    btc = make_bot(db, name="p-btc", capital=D(50000))
    eth = make_bot(db, name="p-eth", symbol="ETHUSDT")
    trade(db, btc, "buy", "0.5", "60000", "30", at("2024-04-01T10:00:00"))  # open
    trade(db, eth, "buy", "1.5", "3000.5", "4.50075", at("2024-04-01T10:00:00"))
    trade(db, eth, "sell", "1.5", "3100", "4.65", at("2024-04-02T10:00:00"))  # +140.09925
    account = exchange_account(db, "testnet-a")
    live = make_bot(
        db, name="b-btc", broker="binance", exchange_account_id=account.id, capital=D(1000)
    )
    trade(db, live, "buy", "0.01", "60000", "0.6", at("2024-04-01T11:00:00"))
    silent = exchange_account(db, "never-read")
    make_bot(db, name="b-eth", broker="binance", exchange_account_id=silent.id, symbol="ETHUSDT")
    exchange_account(db, "unused")  # no bot, no balance: not listed
    listed = {
        "BTC": (D("0.009"), D(0)),
        "USDT": (D("5000"), D("100")),
        "BNB": (D(0), D(0)),
        "XRP": (D("0.5"), D(0)),
    }
    with db.writing() as session:
        balances.record(session=session, exchange_account_id=account.id, balances=listed, at=READ)
    with db.reading() as session:
        paper, never, testnet = balances.wallets(session=session)
        stored = session.exec(select(AccountBalance.asset)).all()
    assert sorted(stored) == ["BTC", "USDT", "XRP"]  # BNB at zero and not booked: not kept
    assert (paper.name, paper.environment, paper.read_at) == ("paper", "paper", None)
    # cash: 50000 - 30 - 30000 = 19970 and 10000 + 140.09925 (= -4.50075 + 144.6)
    assert held(paper) == {
        "BTC": (D("0.5"), 0, D("0.5"), 0),  # ETH: no open position, nothing held
        "USDT": (D("30110.09925"), 0, D("30110.09925"), 0),
    }
    assert (testnet.name, testnet.read_at) == ("testnet-a", READ)
    # the bot's books: 0.01 BTC and 1000 - 600 - 0.6 USDT
    assert held(testnet) == {
        "BTC": (D("0.009"), 0, D("0.01"), D("-0.001")),
        "USDT": (D(5000), D(100), D("399.4"), D("4700.6")),
        "XRP": (D("0.5"), 0, 0, D("0.5")),
    }
    assert never.read_at is None
    assert held(never) == {"USDT": (None, None, D(10000), None)}


def test_a_new_reading_replaces_the_last_and_keeps_booked_assets_at_zero(db):
    account = exchange_account(db, "testnet-b")
    bot = make_bot(db, name="b2", broker="binance", exchange_account_id=account.id)
    trade(db, bot, "buy", "0.1", "60000", "6", at("2024-04-01T11:00:00"))
    with db.writing() as session:
        balances.record(
            session=session,
            exchange_account_id=account.id,
            balances={"BTC": (D("0.1"), D(0)), "ETH": (D(2), D(0)), "USDT": (D(3994), D(0))},
            at=READ,
        )
    with db.writing() as session:  # everything sold by hand on the exchange
        balances.record(
            session=session,
            exchange_account_id=account.id,
            balances={"BTC": (D(0), D(0)), "ETH": (D(0), D(0)), "USDT": (D(10000), D(0))},
            at=READ,
        )
    with db.reading() as session:
        (wallet,) = balances.wallets(session=session)
    assert held(wallet) == {
        "BTC": (0, 0, D("0.1"), D("-0.1")),  # booked, so kept at zero: short by 0.1
        "USDT": (D(10000), 0, D(3994), D(6006)),
    }
