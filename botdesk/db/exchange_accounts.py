"""Exchange accounts: Binance API credentials, Fernet-encrypted at rest with the data key.

Only the last four characters of the API key are ever shown back; the secret is never
shown, logged or put in the audit log. The engine reads them with `credentials`.
"""

import string

from sqlmodel import Session, col, select

from botdesk.db import typed
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    BotState,
    Environment,
    ExchangeAccount,
    Order,
    Position,
    PositionStatus,
)
from botdesk.keys import decrypt, encrypt
from botdesk.settings import Settings

_KEY_CHARS = set(string.ascii_letters + string.digits)
MAX_NAME = 100


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
    name = typed.text(
        name, field="name", most=MAX_NAME, refuse=ExchangeAccountError, required=False
    )
    if not name:
        raise ExchangeAccountError(f"the name is required (up to {MAX_NAME} characters)")
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


def assign_bot(
    *, session: Session, bot_id: int, account_id: int | None, confirmation: str | None = None
) -> tuple[Bot, ExchangeAccount | None, ExchangeAccount | None]:
    """Point a bot at an exchange account (its orders then go to Binance), or back to paper
    with `account_id` None. Returns (bot, previous account, new account).

    The bot must be stopped with no open position or order: its books belong to the venue
    it traded on. Moving it to a LIVE account needs `confirmation` equal to the bot's name.
    """
    bot = session.exec(select(Bot).where(Bot.id == bot_id).with_for_update()).first()
    if bot is None:
        raise ExchangeAccountError("that bot no longer exists")
    account = session.get(ExchangeAccount, account_id) if account_id is not None else None
    if account_id is not None and account is None:
        raise ExchangeAccountError("that exchange account no longer exists")
    if bot.desired_state != BotState.STOPPED or bot.status == BotState.RUNNING:
        raise ExchangeAccountError(f"stop {bot.name} first: a running bot keeps its venue")
    busy = (
        session.exec(
            select(Order.id).where(
                Order.bot_id == bot.id, col(Order.status).in_(OPEN_ORDER_STATUSES)
            )
        ).first()
        or session.exec(
            select(Position.id).where(
                Position.bot_id == bot.id, Position.status == PositionStatus.OPEN
            )
        ).first()
    )
    if busy is not None:
        raise ExchangeAccountError(
            f"{bot.name} has an open position or order: close it before changing its venue"
        )
    live = account is not None and account.environment == Environment.LIVE
    if live and (confirmation or "").strip() != bot.name:
        raise ExchangeAccountError(
            f"{account.name} is LIVE and trades real money: type the bot's name "
            f"({bot.name}) to confirm"
        )
    previous = (
        session.get(ExchangeAccount, bot.exchange_account_id)
        if bot.exchange_account_id is not None
        else None
    )
    bot.exchange_account_id = account.id if account is not None else None
    bot.broker = "binance" if account is not None else "paper"
    session.add(bot)
    session.flush()
    return bot, previous, account


def credentials(account: ExchangeAccount, settings: Settings | None = None) -> tuple[str, str]:
    """(api_key, api_secret) in clear, for the broker only: never log or display them."""
    return (
        decrypt(account.api_key_encrypted, settings),
        decrypt(account.api_secret_encrypted, settings),
    )
