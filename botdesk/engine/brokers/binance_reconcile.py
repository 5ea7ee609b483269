"""Reconciliation with Binance, per exchange account, at start and periodically.

0. Every protection held by Binance or in doubt is looked up (its legs' fills made while
   the engine was away are booked, once; a stop leg's fill closes the position), then
   every open position gets the protection it should have: a missing one is placed, one
   of the wrong quantity or levels replaced (`Protector.reconcile`).
1. Every order in an unknown state is looked up by client order id (never left unknown
   while Binance answers).
2. Every order botdesk holds open is looked up: fills made while the engine was away are
   booked, orders Binance cancelled or expired are closed.
3. Trades since the last known trade id (`myTrades?fromId=`): a trade of one of our
   orders not yet booked is booked; a trade botdesk did not place raises a risk event.
4. Open orders on Binance that botdesk does not track raise a risk event; one that is a
   leg of a protection botdesk had given up on (after a lost answer, say) is adopted:
   recorded as Binance holds it.
5. Balances against the ledger: the account's balances are stored for the desk
   (`account_balance`); when the bots' books hold more of an asset (positions in the base
   asset, cash in the quote asset) than the account has, a risk event says by how much.
   Each difference is raised once while it lasts.

Network calls happen outside transactions; each booking is its own short transaction.
"""

import json
import logging
from decimal import Decimal

from sqlmodel import col, select

from botdesk.db import balances as account_balances
from botdesk.db.models import (
    OPEN_ORDER_STATUSES,
    Bot,
    ExchangeAccount,
    Fill,
    Order,
    OrderStatus,
    Position,
    PositionStatus,
    RiskEvent,
)
from botdesk.db.types import utcnow
from botdesk.engine import announce
from botdesk.engine.accounts import account as bot_account
from botdesk.engine.brokers.base import quote_asset
from botdesk.engine.brokers.binance_rest import ExchangeError, RateLimited
from botdesk.engine.brokers.binance_wire import base_asset, binance_trade

log = logging.getLogger(__name__)

ZERO = Decimal(0)


class Reconciler:
    def __init__(self, broker):
        self.broker = broker
        self._last_trade_id: dict[tuple[int, str], int] = {}
        self._raised: dict[tuple, str] = {}  # what was last raised per difference

    @property
    def db(self):
        return self.broker.db  # bound after construction, by `Brokers`

    def run(self) -> int:
        """Reconcile every account that Binance bots use; returns the fills booked."""
        with self.db.reading() as session:
            accounts = session.exec(
                select(ExchangeAccount).where(
                    col(ExchangeAccount.id).in_(
                        select(Bot.exchange_account_id).where(Bot.broker == self.broker.name)
                    )
                )
            ).all()
        booked = 0
        for account in accounts:
            before = self._fill_count(account)
            try:
                self.account(account)
            except RateLimited as wait:
                log.warning("Binance reconciliation of %s postponed: %s", account.name, wait)
            except ExchangeError as error:
                log.warning("Binance reconciliation of %s incomplete: %s", account.name, error)
            booked += self._fill_count(account) - before
        return booked

    def account(self, account: ExchangeAccount) -> None:
        rest = self.broker.connections.rest_for(account)
        self.broker.protector.reconcile(account)
        orders = [o for o in self._orders(account, OPEN_ORDER_STATUSES) if o.protection_id is None]
        for order in orders:
            if order.status == OrderStatus.UNKNOWN:
                self.broker.look_up(order.id)
            elif order.status != OrderStatus.NEW:
                found = rest.call(
                    "get_order", symbol=order.symbol, origClientOrderId=order.client_order_id
                )
                self.broker.settle(rest, account, order, found)
        symbols = self._symbols(account)
        for symbol in symbols:
            self._trades_since(rest, account, symbol)
            self._foreign_open_orders(rest, account, symbol)
        self._balances(rest, account, symbols)

    # --- trades -------------------------------------------------------------------------

    def _trades_since(self, rest, account: ExchangeAccount, symbol: str) -> None:
        key = (account.id, symbol)
        last = self._last_trade_id.get(key)
        if last is None:
            last = self._stored_last_trade_id(account, symbol)
        if last is None:
            first = self._first_order_ms(account, symbol)
            if first is None:
                return
            trades = rest.call("get_my_trades", symbol=symbol, startTime=first, limit=1000)
        else:
            trades = rest.call("get_my_trades", symbol=symbol, fromId=last + 1, limit=1000)
        for raw in trades:
            trade = binance_trade(raw)
            self._book_trade(account, symbol, trade, raw["orderId"])
            last = max(last or 0, int(trade["id"]))
        if last is not None:
            self._last_trade_id[key] = last

    def _book_trade(self, account, symbol: str, trade: dict, exchange_order_id) -> None:
        with self.db.reading() as session:
            order = session.exec(
                select(Order).where(
                    Order.broker == self.broker.name,
                    Order.symbol == symbol,
                    Order.exchange_order_id == str(exchange_order_id),
                    col(Order.bot_id).in_(self._bot_ids_query(account)),
                )
            ).first()
            booked = (
                order is not None
                and session.exec(
                    select(Fill.id).where(
                        Fill.order_id == order.id, Fill.trade_id == str(trade["id"])
                    )
                ).first()
                is not None
            )
        if order is None:
            self._raise(
                ("trade", account.id, symbol, trade["id"]),
                "unknown_trade",
                "warning",
                f"{account.name}: trade {trade['id']} on {symbol} ({trade['qty']} at "
                f"{trade['price']}) belongs to an order botdesk did not place",
            )
            return
        if booked:
            return
        log.info("Binance reconciliation: booking missed trade %s of %s", trade["id"], order.id)
        rest = self.broker.connections.rest_for(account)
        found = rest.call("get_order", symbol=symbol, orderId=exchange_order_id)
        self.broker.settle(rest, account, order, found)

    def _foreign_open_orders(self, rest, account: ExchangeAccount, symbol: str) -> None:
        ours = {order.client_order_id for order in self._orders(account, OPEN_ORDER_STATUSES)}
        for order in rest.call("get_open_orders", symbol=symbol):
            if order["clientOrderId"] in ours:
                continue
            leg = self._leg(account, order["clientOrderId"])
            if leg is not None:
                log.warning("Binance reconciliation: adopting %s", order["clientOrderId"])
                self.broker.settle(rest, account, leg, order)
            else:
                self._raise(
                    ("open", account.id, order["orderId"]),
                    "unknown_order",
                    "warning",
                    f"{account.name}: open order {order['clientOrderId']} on {symbol} "
                    f"({order['side']} {order['origQty']}) is not one botdesk tracks",
                )

    # --- balances -----------------------------------------------------------------------

    def _balances(self, rest, account: ExchangeAccount, symbols: list[str]) -> None:
        listed = rest.call("get_account")["balances"]
        self._record_balances(account, listed)
        held = {
            balance["asset"]: Decimal(balance["free"]) + Decimal(balance["locked"])
            for balance in listed
        }
        needed: dict[str, Decimal] = {}
        quotes = set()
        with self.db.reading() as session:
            bots = session.exec(
                select(Bot).where(
                    Bot.exchange_account_id == account.id, Bot.broker == self.broker.name
                )
            ).all()
            for bot in bots:
                quote = quote_asset(bot.symbol)
                quotes.add(quote)
                needed[quote] = needed.get(quote, ZERO) + bot_account(session=session, bot=bot).cash
                for position in session.exec(
                    select(Position).where(
                        Position.bot_id == bot.id, Position.status == PositionStatus.OPEN
                    )
                ).all():
                    base = base_asset(position.symbol)
                    needed[base] = needed.get(base, ZERO) + position.quantity
        for asset, amount in sorted(needed.items()):
            has = held.get(asset, ZERO)
            key = ("balance", account.id, asset)
            if amount > has:
                severity = "warning" if asset in quotes else "critical"
                self._raise(
                    key,
                    "balance_mismatch",
                    severity,
                    f"{account.name}: the bots' books hold {amount} {asset}, the Binance "
                    f"account has {has} ({amount - has} short)",
                )
            else:
                self._raised.pop(key, None)

    def _record_balances(self, account: ExchangeAccount, listed: list[dict]) -> None:
        """Kept for the desk (`account_balance`), which never calls Binance itself."""
        with self.db.writing() as session:
            account_balances.record(
                session=session,
                exchange_account_id=account.id,
                balances={b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in listed},
                at=utcnow(),
            )

    # --- helpers ------------------------------------------------------------------------

    def _raise(self, key: tuple, rule: str, severity: str, message: str) -> None:
        if self._raised.get(key) == message:
            return
        self._raised[key] = message
        log.warning("Binance reconciliation: %s", message)
        with self.db.writing() as session:
            event = RiskEvent(
                kind="reconciliation",
                rule=rule,
                severity=severity,
                message=message,
                details=json.dumps({"key": [str(part) for part in key]}),
            )
            session.add(event)
            announce.reconcile_difference(session, event)

    def _leg(self, account: ExchangeAccount, client_order_id: str) -> Order | None:
        with self.db.reading() as session:
            return session.exec(
                select(Order).where(
                    Order.client_order_id == client_order_id,
                    col(Order.protection_id).is_not(None),
                    col(Order.bot_id).in_(self._bot_ids_query(account)),
                )
            ).first()

    def _bot_ids_query(self, account: ExchangeAccount):
        return select(Bot.id).where(Bot.exchange_account_id == account.id)

    def _orders(self, account: ExchangeAccount, statuses) -> list[Order]:
        with self.db.reading() as session:
            return list(
                session.exec(
                    select(Order)
                    .where(
                        Order.broker == self.broker.name,
                        col(Order.status).in_(statuses),
                        col(Order.bot_id).in_(self._bot_ids_query(account)),
                    )
                    .order_by(col(Order.id))
                ).all()
            )

    def _symbols(self, account: ExchangeAccount) -> list[str]:
        with self.db.reading() as session:
            return sorted(
                set(
                    session.exec(
                        select(Bot.symbol).where(
                            Bot.exchange_account_id == account.id, Bot.broker == self.broker.name
                        )
                    ).all()
                )
            )

    def _stored_last_trade_id(self, account: ExchangeAccount, symbol: str) -> int | None:
        with self.db.reading() as session:
            ids = session.exec(
                select(Fill.trade_id)
                .join(Order, col(Order.id) == col(Fill.order_id))
                .where(
                    Order.broker == self.broker.name,
                    Order.symbol == symbol,
                    col(Order.bot_id).in_(self._bot_ids_query(account)),
                )
            ).all()
        numbers = [int(trade_id) for trade_id in ids if trade_id.isdigit()]
        return max(numbers) if numbers else None

    def _first_order_ms(self, account: ExchangeAccount, symbol: str) -> int | None:
        with self.db.reading() as session:
            first = session.exec(
                select(Order.created_at)
                .where(
                    Order.broker == self.broker.name,
                    Order.symbol == symbol,
                    col(Order.bot_id).in_(self._bot_ids_query(account)),
                )
                .order_by(col(Order.id))
                .limit(1)
            ).first()
        return int(first.timestamp() * 1000) - 60_000 if first is not None else None

    def _fill_count(self, account: ExchangeAccount) -> int:
        with self.db.reading() as session:
            return len(
                session.exec(
                    select(Fill.id).where(col(Fill.bot_id).in_(self._bot_ids_query(account)))
                ).all()
            )
