"""Factories for the rows tests need (users, bots, API keys, positions), via the real models.

Users get TOTP two-factor by default, as the desk requires it: the secret is stored
encrypted with the test data key like the desk stores it, and kept in TOTP_SECRETS so
tests.desk.login can answer the code step. Pass totp=False for a user without 2FA.
"""

import itertools
import json
from decimal import Decimal

from botdesk.app import twofactor
from botdesk.app.passwords import hash_password
from botdesk.db import api_keys, users
from botdesk.db.models import Bot, BotState, Position, Role, Signal, User
from botdesk.db.session import Database
from botdesk.settings import Settings
from tests.keys import TEST_DATA_KEY

_numbers = itertools.count(1)
PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run
TEST_SETTINGS = Settings(DATA_KEY=TEST_DATA_KEY)
TOTP_SECRETS: dict[str, str] = {}  # username -> TOTP secret of the latest user by that name


def make_user(
    db: Database,
    *,
    role: Role | str = Role.VIEWER,
    username: str | None = None,
    totp: bool = True,
    **fields,
) -> User:
    with db.writing() as session:
        user = users.create(
            session=session,
            username=username or f"user{next(_numbers)}",
            password_hash=_PASSWORD_HASH,
            role=Role(role).value,
        )
        if totp:
            secret = twofactor.new_secret()
            twofactor.store_secret(user, secret, TEST_SETTINGS)
            user.totp_enabled = True
            TOTP_SECRETS[user.username] = secret
        else:
            TOTP_SECRETS.pop(user.username, None)
        for key, value in fields.items():
            setattr(user, key, value)
        session.add(user)
    return user


def make_bot(
    db: Database,
    *,
    name: str | None = None,
    strategy: str = "ema_cross",
    symbol: str = "BTCUSDT",
    timeframe: str = "1m",
    params: dict | None = None,
    state: BotState = BotState.STOPPED,
    capital: Decimal = Decimal("10000"),
    **fields,
) -> Bot:
    with db.writing() as session:
        bot = Bot(
            name=name or f"bot-{next(_numbers)}",
            strategy=strategy,
            symbol=symbol,
            timeframe=timeframe,
            params=json.dumps(params or {"fast": 9, "slow": 21, "stop_atr": 0}),
            desired_state=state,
            status=state,
            capital=capital,
            **fields,
        )
        session.add(bot)
    return bot


def make_api_key(db: Database, user: User, scope: str = "read", **options) -> str:
    """Create an API key for `user` through the real code path; returns the key itself."""
    with db.writing() as session:
        owner = session.get(User, user.id)
        _, key = api_keys.create(session=session, owner=owner, scope=scope, actor="test", **options)
    return key


def make_position(db: Database, bot: Bot, *, status: str = "open", **fields) -> Position:
    with db.writing() as session:
        values = {
            "symbol": bot.symbol,
            "quantity": Decimal("0.5"),
            "cost_basis": Decimal("30000"),
            "entry_price": Decimal("60000"),
            **fields,
        }
        position = Position(bot_id=bot.id, status=status, **values)
        session.add(position)
    return position


def signal_row(bot: Bot, number: int, **fields) -> Signal:
    """The bot's number-th strategy signal on BTCUSDT 1m (sells on even numbers, buys on
    odd), not yet added to a session."""
    values = {
        "dedupe_key": f"c:{number}",
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "side": "buy" if number % 2 else "sell",
        **fields,
    }
    return Signal(bot_id=bot.id, **values)
