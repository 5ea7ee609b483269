"""Exchange credentials on both databases: encrypted at rest, last four shown, validated."""

import pytest
from sqlalchemy import text

from botdesk.db import exchange_accounts
from botdesk.db.exchange_accounts import ExchangeAccountError
from botdesk.db.models import ExchangeAccount
from tests.factories import TEST_SETTINGS, make_bot

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def add(db, name="binance-testnet", environment="testnet", key=KEY, secret=SECRET):
    with db.writing() as session:
        return exchange_accounts.create(
            session=session,
            name=name,
            environment=environment,
            api_key=key,
            api_secret=secret,
            created_by="admin",
            settings=TEST_SETTINGS,
        )


def test_credentials_are_stored_encrypted_and_read_back_for_the_broker(db):
    account = add(db)
    with db.reading() as session:
        stored = session.execute(text("SELECT * FROM exchange_account")).one()
        row = session.get(ExchangeAccount, account.id)
    assert KEY not in str(tuple(stored)) and SECRET not in str(tuple(stored))
    assert row.api_key_last4 == "Eh8A"
    assert exchange_accounts.credentials(row, TEST_SETTINGS) == (KEY, SECRET)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "  "}, "the name is required"),
        ({"environment": "mainnet"}, "choose testnet or live"),
        ({"key": ""}, "the API key is required"),
        ({"secret": "short"}, "the API secret does not look like a Binance credential"),
        ({"key": KEY[:-1] + "!"}, "the API key does not look like"),
    ],
)
def test_bad_input_is_refused_with_a_reason_and_stores_nothing(db, fields, message):
    with pytest.raises(ExchangeAccountError, match=message):
        add(db, **fields)
    with db.reading() as session:
        assert exchange_accounts.all_accounts(session=session) == []


def test_names_are_unique_and_accounts_in_use_are_kept(db):
    account = add(db, name="main", environment="live")
    with pytest.raises(ExchangeAccountError, match="already exists"):
        add(db, name="main")
    make_bot(db, name="live-bot", exchange_account_id=account.id)
    with pytest.raises(ExchangeAccountError, match="used by bot"), db.writing() as session:
        exchange_accounts.delete(session=session, account_id=account.id)
    spare = add(db, name="spare")
    with db.writing() as session:
        exchange_accounts.delete(session=session, account_id=spare.id)
    with db.reading() as session:
        assert [a.name for a in exchange_accounts.all_accounts(session=session)] == ["main"]
