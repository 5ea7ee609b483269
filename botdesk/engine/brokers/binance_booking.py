"""How the Binance broker records what Binance reports, each in one short transaction: an
order's state and trades, fees as the account pays them, unsellable dust written off, the
protection of what is left of the position, refusals, lost orders, a 418's halt (see
`botdesk.engine.brokers.binance`)."""

import json
import logging
from decimal import Decimal

from sqlmodel import Session, select, update

from botdesk.db import protections
from botdesk.db.models import Bot, BotState, Order, OrderStatus, Protection, RiskEvent, Side
from botdesk.db.types import quantize, utcnow
from botdesk.engine import announce
from botdesk.engine.brokers import binance_intent as intent
from botdesk.engine.brokers.base import ms_to_datetime, quote_asset
from botdesk.engine.brokers.binance_filters import SymbolFilters
from botdesk.engine.brokers.binance_rest import Banned, BinanceRest, ExchangeRefused
from botdesk.engine.brokers.binance_wire import (
    CANCEL_REQUESTED,
    FINAL,
    STATUS_FROM_BINANCE,
    base_asset,
    binance_trade,
)
from botdesk.engine.ledger import BrokerFill, open_position, record_fill
from botdesk.engine.trading import protect_from_signal

log = logging.getLogger(__name__)


class Booking:
    """The booking half of `BinanceBroker` (it has `db`, `connections`, `name`)."""

    def settle(self, rest: BinanceRest, account, order: Order, found: dict) -> None:
        """Record an order as Binance reports it, with every trade it made."""
        trades = []
        if Decimal(found.get("executedQty", "0")) > 0:
            trades = [
                binance_trade(trade)
                for trade in rest.call(
                    "get_my_trades", symbol=order.symbol, orderId=found["orderId"]
                )
            ]
        self.record(order.id, found, trades, self.connections.filters(rest, account, order.symbol))

    def record(self, order_id: int, answer: dict, trades: list[dict], filters) -> None:
        """In one short transaction: the exchange's id and state, the trades booked."""
        with self.db.writing() as session:
            order = session.get(Order, order_id)
            # the bot's row first, as the runner locks it for a candle: its position is
            # never changed by both at once
            session.exec(select(Bot).where(Bot.id == order.bot_id).with_for_update()).one()
            order = locked_order(session, order_id)
            executed = Decimal(answer.get("executedQty", "0"))
            complete = sum((t["qty"] for t in trades), Decimal(0)) >= executed
            for trade in trades:
                record_fill(session=session, order=order, fill=self.broker_fill(order, trade))
            if trades and order.side == Side.BUY:
                protect_from_signal(session, order)
            order.exchange_order_id = str(answer.get("orderId", order.exchange_order_id))
            status = STATUS_FROM_BINANCE.get(answer.get("status"), OrderStatus.OPEN)
            if complete or status not in FINAL:
                order.status = status
            else:  # the trades are not all visible yet: reconciliation finishes it
                order.status = OrderStatus.PARTIALLY_FILLED
            if not (order.status_reason or "").startswith(CANCEL_REQUESTED) or status in FINAL:
                order.status_reason = f"Binance: {answer.get('status', 'accepted')}"
            order.updated_at = utcnow()
            session.add(order)
            announce.order_closed(order)
            if order.side == Side.SELL and order.status == OrderStatus.FILLED:
                self._write_off_dust(session, order, filters)
            if order.protection_id is not None:
                session.flush()
                intent.derive(session, session.get(Protection, order.protection_id))
            if (trades and order.side == Side.BUY) or order.status in FINAL:
                self._protect_rest(session, order)

    def _protect_rest(self, session: Session, order: Order) -> None:
        """After an entry's fill, a partial exit, a failed exit or a protection's fill:
        what is left of the position gets the protection it should have."""
        session.flush()
        position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
        if position is not None:
            self.ensure_protection(session, position)

    def _protection_in_the_way(self, order: Order) -> bool:
        """A sell must not leave while Binance holds (or may hold) the position's
        protection: the base asset is locked in it. Its release is asked for here if
        nobody asked yet."""
        with self.db.writing() as session:
            position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
            if position is None:
                return False
            live = protections.live(session=session, position_id=position.id)
            if live:
                intent.release(session, position, f"exit {order.client_order_id} waits for it")
            return bool(live)

    def broker_fill(self, order: Order, trade: dict) -> BrokerFill:
        """A Binance trade as the ledger books it (see the module docstring on fees)."""
        quantity, price, commission = trade["qty"], trade["price"], trade["commission"]
        asset = trade["commissionAsset"]
        if asset == base_asset(order.symbol) and order.side == Side.BUY:
            quantity -= commission
            fee_quote = quantize(commission * price)
        elif asset == quote_asset(order.symbol):
            fee_quote = commission
        else:  # BNB or another asset: its quote value is not known here
            log.info("Binance trade %s: commission in %s not valued", trade["id"], asset)
            fee_quote = Decimal(0)
        return BrokerFill(
            order_id=order.id,
            trade_id=str(trade["id"]),
            quantity=quantity,
            price=price,
            fee=commission,
            fee_asset=asset,
            fee_quote=fee_quote,
            filled_at=ms_to_datetime(trade["time"]),
        )

    def _write_off_dust(self, session: Session, order: Order, filters: SymbolFilters) -> None:
        position = open_position(session=session, bot_id=order.bot_id, symbol=order.symbol)
        if position is None or position.quantity >= max(filters.step_size, filters.min_qty):
            return
        dust = Order(
            bot_id=order.bot_id,
            client_order_id=f"{order.client_order_id}-dust"[:64],
            broker=self.name,
            symbol=order.symbol,
            side=Side.SELL,
            quantity=position.quantity,
            purpose="dust",
            status=OrderStatus.NEW,
            status_reason="below Binance's LOT_SIZE step: written off at 0, it stays on Binance",
        )
        session.add(dust)
        session.flush()
        fill = BrokerFill(
            order_id=dust.id,
            trade_id=f"dust-{order.id}",
            quantity=position.quantity,
            price=Decimal(0),
            fee=Decimal(0),
            fee_asset=quote_asset(order.symbol),
            fee_quote=Decimal(0),
            filled_at=utcnow(),
        )
        record_fill(session=session, order=dust, fill=fill)
        position.exit_reason = order.purpose  # the exit closed it; the dust only rounds off
        session.add(position)

    def _set(self, order_id: int, status: str, reason: str) -> None:
        with self.db.writing() as session:
            order = locked_order(session, order_id)
            if status == OrderStatus.NEW and (order.status_reason or "").startswith(
                CANCEL_REQUESTED
            ):  # cancelled while its request was out, and Binance did nothing with it
                status, reason = (
                    OrderStatus.CANCELLED,
                    f"cancelled before Binance took it ({reason})",
                )
            close_order(order, status, reason)
            session.add(order)

    def _reject(self, order_id: int, refusal: ExchangeRefused) -> None:
        with self.db.writing() as session:
            order = locked_order(session, order_id)
            close_order(order, OrderStatus.REJECTED, str(refusal))
            session.add(order)
            rule = f"binance_{refusal.code}" if refusal.code is not None else "binance"
            session.add(
                exchange_event(order, rule, "warning", f"order {order.client_order_id}: {refusal}")
            )
            if order.side == Side.SELL:
                self._protect_rest(session, order)

    def _not_found(self, order_id: int) -> None:
        """Binance never received it: send it again, unless it is too old to be sent now."""
        with self.db.writing() as session:
            order = locked_order(session, order_id)
            if order.status != OrderStatus.UNKNOWN:
                return
            if (order.status_reason or "").startswith(CANCEL_REQUESTED):
                close_order(order, OrderStatus.CANCELLED, "cancelled: Binance never received it")
            elif utcnow() - order.created_at > self.send_window:
                close_order(
                    order, OrderStatus.EXPIRED, "Binance never received it; too old to resend"
                )
            else:
                close_order(order, OrderStatus.NEW, "Binance never received it: to be sent again")
            session.add(order)

    def halt(self, ban: Banned) -> None:
        """418: every Binance bot halts, once per ban, with a critical risk event."""
        if ban.retry_at <= self._halted_until:
            return
        self._halted_until = ban.retry_at
        reason = f"halted: {ban}"
        with self.db.writing() as session:
            result = session.execute(
                update(Bot)
                .where(Bot.broker == self.name, Bot.desired_state != BotState.STOPPED)
                .values(
                    desired_state=BotState.STOPPED,
                    status=BotState.HALTED,
                    status_reason=reason,
                    status_changed_at=utcnow(),
                )
            )
            session.add(
                RiskEvent(
                    kind="exchange_ban",
                    rule="binance_418",
                    severity="critical",
                    message=f"{ban}: every Binance bot halted ({result.rowcount}); start "
                    "them again once the ban has passed",
                )
            )
        log.critical("Binance 418: %s; Binance bots halted", ban)


def locked_order(session: Session, order_id: int) -> Order:
    """The order row, locked (PostgreSQL) so a concurrent cancel request is not lost."""
    return session.exec(select(Order).where(Order.id == order_id).with_for_update()).one()


def has_position(session: Session, order: Order) -> bool:
    return open_position(session=session, bot_id=order.bot_id, symbol=order.symbol) is not None


def close_order(order: Order, status: str, reason: str) -> None:
    order.status, order.status_reason, order.updated_at = status, reason, utcnow()
    announce.order_closed(order)


def exchange_event(order: Order, rule: str, severity: str, message: str) -> RiskEvent:
    return RiskEvent(
        bot_id=order.bot_id,
        kind="exchange",
        rule=rule,
        severity=severity,
        message=message,
        order_id=order.id,
        signal_id=order.signal_id,
        details=json.dumps({"client_order_id": order.client_order_id}),
    )
