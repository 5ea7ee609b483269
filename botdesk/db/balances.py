"""Balances per asset: what each account holds against what the bots' books say it holds.

An exchange account's balances are what the engine last read from the exchange (its
reconciliation, at start and every BOTDESK_RECONCILE_SECONDS), stored in
`account_balance`: the desk never calls the exchange. The books of an account are its bots'
cash in their quote asset (capital + realized P&L - cost of the open positions) and their
open positions in the base asset. The paper account is the paper bots' books themselves:
it holds exactly what they say.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, delete
from sqlmodel import Session, col, func, select

from botdesk.db.assets import base_asset, quote_asset
from botdesk.db.models import AccountBalance, Bot, ExchangeAccount, Position, PositionStatus
from botdesk.db.types import quantize

ZERO = Decimal(0)
PAPER = "paper"


@dataclass(frozen=True)
class Holding:
    asset: str
    free: Decimal | None  # None: the account was not read yet
    locked: Decimal | None
    booked: Decimal  # what the bots' books hold

    @property
    def held(self) -> Decimal | None:
        return None if self.free is None else self.free + (self.locked or ZERO)

    @property
    def difference(self) -> Decimal | None:
        """Held - booked: below 0, the account is short of what the books say."""
        held = self.held
        return None if held is None else held - self.booked


@dataclass(frozen=True)
class Wallet:
    name: str  # "paper", or the exchange account's name
    exchange_account_id: int | None
    environment: str  # paper | testnet | live
    read_at: datetime | None  # when the exchange was read (None for paper, or never read)
    holdings: list[Holding]


def record(
    *,
    session: Session,
    exchange_account_id: int,
    balances: dict[str, tuple[Decimal, Decimal]],
    at: datetime,
) -> None:
    """Replace the account's stored balances with these (asset -> free, locked). An asset
    at zero is kept only when the account's bots book it (an exchange lists every asset
    it knows), so an account read once is never taken for one not read yet."""
    booked = set()
    for (broker, account_id), assets in _books(session).items():
        if broker != PAPER and account_id == exchange_account_id:
            booked |= set(assets)
    session.execute(
        delete(AccountBalance).where(col(AccountBalance.exchange_account_id) == exchange_account_id)
    )
    for asset, (free, locked) in sorted(balances.items()):
        if free or locked or asset in booked:
            session.add(
                AccountBalance(
                    exchange_account_id=exchange_account_id,
                    asset=asset,
                    free=quantize(free),
                    locked=quantize(locked),
                    read_at=at,
                )
            )


def _books(session: Session) -> dict[tuple[str, int | None], dict[str, Decimal]]:
    """(broker, exchange account id) -> asset -> what the bots' books hold, in two grouped
    reads (each bot's realized P&L and open cost; the open quantity per bot and symbol)."""
    is_open = col(Position.status) == PositionStatus.OPEN
    totals = {
        bot_id: (realized or ZERO, cost or ZERO)
        for bot_id, realized, cost in session.exec(
            select(
                Position.bot_id,
                func.sum(Position.realized_pnl),
                func.sum(case((is_open, Position.cost_basis), else_=0)),
            ).group_by(col(Position.bot_id))
        ).all()
    }
    held = session.exec(
        select(Position.bot_id, Position.symbol, func.sum(Position.quantity))
        .where(is_open)
        .group_by(col(Position.bot_id), col(Position.symbol))
    ).all()
    bots = {bot.id: bot for bot in session.exec(select(Bot))}
    books: dict[tuple[str, int | None], dict[str, Decimal]] = {}

    def add(bot: Bot, asset: str, amount: Decimal) -> None:
        key = (bot.broker, bot.exchange_account_id if bot.broker != PAPER else None)
        assets = books.setdefault(key, {})
        assets[asset] = assets.get(asset, ZERO) + amount

    for bot in bots.values():
        realized, cost = totals.get(bot.id, (ZERO, ZERO))
        add(bot, quote_asset(bot.symbol), bot.capital + realized - cost)
    for bot_id, symbol, quantity in held:
        add(bots[bot_id], base_asset(symbol), quantity)
    return books


def wallets(*, session: Session) -> list[Wallet]:
    """The paper account (when paper bots exist), then each exchange account by name that
    has bots or stored balances."""
    books = _books(session)
    found = []
    paper = books.get((PAPER, None))
    if paper:
        holdings = [Holding(asset, amount, ZERO, amount) for asset, amount in sorted(paper.items())]
        found.append(Wallet("paper", None, PAPER, None, holdings))
    stored: dict[int, dict[str, AccountBalance]] = {}
    for row in session.exec(select(AccountBalance)):
        stored.setdefault(row.exchange_account_id, {})[row.asset] = row
    for account in session.exec(select(ExchangeAccount).order_by(col(ExchangeAccount.name))):
        booked = {}
        for (broker, account_id), assets in books.items():
            if broker != PAPER and account_id == account.id:
                for asset, amount in assets.items():
                    booked[asset] = booked.get(asset, ZERO) + amount
        balances = stored.get(account.id, {})
        if not booked and not balances:
            continue
        read = bool(balances) or None
        holdings = []
        for asset in sorted(set(booked) | set(balances)):
            row = balances.get(asset)
            free = row.free if row else (ZERO if read else None)
            locked = row.locked if row else (ZERO if read else None)
            holdings.append(Holding(asset, free, locked, booked.get(asset, ZERO)))
        read_at = max((row.read_at for row in balances.values()), default=None)
        found.append(Wallet(account.name, account.id, account.environment, read_at, holdings))
    return found
