"""Exchange accounts: Binance API credentials, Fernet-encrypted at rest with the data key.

Only the last four characters of the API key are ever shown back; the secret is never
shown, logged or put in the audit log. The engine reads them with `credentials`.
"""

import string

from sqlmodel import Session, select

from botdesk.db.models import Bot, Environment, ExchangeAccount
from botdesk.keys import decrypt, encrypt
from botdesk.settings import Settings

_KEY_CHARS = set(string.ascii_letters + string.digits)


class ExchangeAccountError(ValueError):
    """An exchange account change that cannot be made; the message says why."""


def _credential(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ExchangeAccountError(f"the {label} is required")
    if not 16 <= len(value) <= 128 or not set(value) <= _KEY_CHARS:
        raise ExchangeAccountError(
            f"the {label} does not look like a Binance credential "
            "(16 to 128 letters and digits, as Binance shows it)"
        )
    return value


def all_accounts(*, session: Session) -> list[ExchangeAccount]:
    return list(session.exec(select(ExchangeAccount).order_by(ExchangeAccount.name)))


def create(
    *,
    session: Session,
    name: str,
    environment: str,
    api_key: str,
    api_secret: str,
    created_by: str,
    settings: Settings | None = None,
) -> ExchangeAccount:
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ExchangeAccountError("the name is required (up to 100 characters)")
    try:
        environment = Environment(environment).value
    except ValueError:
        raise ExchangeAccountError("choose testnet or live") from None
    api_key = _credential(api_key, "API key")
    api_secret = _credential(api_secret, "API secret")
    if session.exec(select(ExchangeAccount).where(ExchangeAccount.name == name)).first():
        raise ExchangeAccountError(f"an exchange account named {name!r} already exists")
    account = ExchangeAccount(
        name=name,
        environment=environment,
        api_key_encrypted=encrypt(api_key, settings),
        api_secret_encrypted=encrypt(api_secret, settings),
        api_key_last4=api_key[-4:],
        created_by=created_by,
    )
    session.add(account)
    session.flush()
    return account


def delete(*, session: Session, account_id: int) -> ExchangeAccount:
    account = session.get(ExchangeAccount, account_id)
    if account is None:
        raise ExchangeAccountError("that exchange account no longer exists")
    bots = session.exec(select(Bot.name).where(Bot.exchange_account_id == account_id)).all()
    if bots:
        raise ExchangeAccountError(
            f"{account.name} is used by bot(s) {', '.join(bots)}: move them to another "
            "account first"
        )
    session.delete(account)
    return account


def credentials(account: ExchangeAccount, settings: Settings | None = None) -> tuple[str, str]:
    """(api_key, api_secret) in clear, for the broker only: never log or display them."""
    return (
        decrypt(account.api_key_encrypted, settings),
        decrypt(account.api_secret_encrypted, settings),
    )
