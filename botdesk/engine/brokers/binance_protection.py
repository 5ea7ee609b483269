"""Sending a position's protection to Binance and cancelling it, outside any transaction
(the broker's `dispatch` and reconciliation call it), with the order path's rules:

1. a "new" protection is claimed in a short transaction (the symbol's filters applied to
   its quantity and prices, status "unknown" committed) before the request leaves; it
   waits while an older protection of the same position is not yet cancelled;
2. the OCO (`create_oco_order`: POST /api/v3/orderList/oco) or the single order
   (`create_order`) goes out with our client ids; the answer is recorded in its own
   transaction: "open" with the exchange's ids, or "rejected" with Binance's reason and a
   risk event (the engine's own watch then protects the position);
3. an "unknown" protection is looked up by its client ids (`v3_get_order_list`,
   `get_order`) before anything else: found, its legs are recorded as Binance has them
   (fills booked); not found, it goes back to "new";
4. a cancel (`v3_delete_order_list`, or `cancel_order` for a single order) records the
   legs as Binance answers; if Binance no longer has it open (it filled meanwhile), the
   legs are looked up and their fills booked.
"""

import json
import logging

from sqlmodel import Session, col, select

from botdesk.db import candles as candle_store
from botdesk.db import protections
from botdesk.db.models import (
    LIVE_PROTECTION_STATUSES,
    Bot,
    ExchangeAccount,
    OrderStatus,
    Position,
    PositionStatus,
    Protection,
    ProtectionStatus,
    RiskEvent,
)
from botdesk.db.types import utcnow
from botdesk.engine.brokers import binance_intent as intent
from botdesk.engine.brokers.binance_filters import FilterRefused, SymbolFilters
from botdesk.engine.brokers.binance_rest import (
    Banned,
    ExchangeRefused,
    OutcomeUnknown,
    RateLimited,
)
from botdesk.engine.brokers.binance_wire import STATUS_FROM_BINANCE, plain

log = logging.getLogger(__name__)

ORDER_NOT_FOUND, UNKNOWN_ORDER_SENT, LIST_NOT_FOUND = -2013, -2011, -2018
GONE = (ORDER_NOT_FOUND, UNKNOWN_ORDER_SENT, LIST_NOT_FOUND)


class Protector:
    def __init__(self, broker):
        self.broker = broker

    @property
    def db(self):
        return self.broker.db

    def pending(self, bot_ids=None) -> list[tuple[int, str, bool]]:
        """(id, status, cancel requested) of the protections with something to do."""
        with self.db.reading() as session:
            query = select(Protection.id, Protection.status, Protection.cancel_requested).where(
                col(Protection.status).in_(LIVE_PROTECTION_STATUSES)
            )
            if bot_ids is not None:
                query = query.where(col(Protection.bot_id).in_(bot_ids))
            return list(session.exec(query.order_by(col(Protection.id))).all())

    def step(self, protection_id: int, status: str, cancel: bool) -> None:
        """One pass's work for one protection."""
        if status == ProtectionStatus.UNKNOWN:
            self.look_up(protection_id)
        elif status == ProtectionStatus.OPEN and cancel:
            self.send_cancel(protection_id)
        elif status == ProtectionStatus.NEW:
            self.send(protection_id)

    # --- place --------------------------------------------------------------------------

    def send(self, protection_id: int) -> None:
        rest, account, row = self._context(protection_id)
        if row is None or row.status != ProtectionStatus.NEW or row.cancel_requested:
            return
        if self._waits(row):
            return
        rest.gate.check()
        filters = self.broker.connections.filters(rest, account, row.symbol)
        claimed = self._claim(protection_id, filters)
        if claimed is None:
            return
        method, params = claimed
        try:
            answer = rest.call(method, **params)
        except (Banned, RateLimited) as wait:
            self._back_to_new(protection_id, f"not placed yet: {wait}")
            raise
        except ExchangeRefused as refusal:
            self._refused(protection_id, refusal)
            return
        except OutcomeUnknown as unknown:
            log.warning("Binance: protection %s: %s", row.list_client_order_id, unknown)
            return  # stays unknown: looked up before anything else
        self._placed(protection_id, answer)

    def _waits(self, row: Protection) -> bool:
        """An older protection of the same position is still held or in doubt."""
        with self.db.reading() as session:
            older = protections.live(session=session, position_id=row.position_id)
        return any(other.id < row.id for other in older)

    def _claim(self, protection_id: int, filters: SymbolFilters):
        """Filters applied, "unknown" committed; the request to send (or None)."""
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            if row.status != ProtectionStatus.NEW or row.cancel_requested:
                return None
            position = session.get(Position, row.position_id)
            if position is None or position.status != PositionStatus.OPEN:
                intent.close(session, row, ProtectionStatus.CANCELLED, "the position closed first")
                return None
            legs = protections.legs(session=session, protection_id=row.id)
            reference = candle_store.last_price(session=session, symbol=row.symbol)
            try:
                rounded = [
                    filters.apply(
                        market=False,
                        quantity=row.quantity,
                        price=leg.price,
                        reference_price=reference,
                    )
                    for leg in legs
                ]
            except FilterRefused as refusal:
                intent.close(session, row, ProtectionStatus.REJECTED, f"not placed: {refusal}")
                session.add(_event(row, "exchange_filter", f"protection not placed: {refusal}"))
                return None
            for leg, (quantity, price) in zip(legs, rounded, strict=True):
                leg.quantity, leg.price = quantity, price
                if leg.stop_price is not None:
                    leg.stop_price = filters.round_price(leg.stop_price)
            now = utcnow()
            for leg in legs:
                leg.status, leg.sent_at, leg.updated_at = OrderStatus.UNKNOWN, now, now
                leg.status_reason = "protection sent to Binance, waiting for its answer"
                session.add(leg)
            row.status, row.sent_at, row.updated_at = ProtectionStatus.UNKNOWN, now, now
            row.status_reason = "sent to Binance, waiting for its answer"
            session.add(row)
            return _request(row, legs)

    def _back_to_new(self, protection_id: int, reason: str) -> None:
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            for leg in protections.legs(session=session, protection_id=row.id):
                leg.status, leg.status_reason = OrderStatus.NEW, reason
                session.add(leg)
            row.status, row.status_reason, row.updated_at = ProtectionStatus.NEW, reason, utcnow()
            session.add(row)
            if row.cancel_requested:
                intent.close(session, row, ProtectionStatus.CANCELLED, f"never placed ({reason})")

    def _refused(self, protection_id: int, refusal: ExchangeRefused) -> None:
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            intent.close(session, row, ProtectionStatus.REJECTED, str(refusal))
            rule = f"binance_{refusal.code}" if refusal.code is not None else "binance"
            session.add(
                _event(
                    row,
                    rule,
                    f"protection {row.list_client_order_id} refused: {refusal}; the engine "
                    "watches the position's stop and take-profit itself",
                )
            )

    def _placed(self, protection_id: int, answer: dict) -> None:
        reports = answer.get("orderReports") or [answer]
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            if answer.get("orderListId", -1) != -1:
                row.order_list_id = str(answer["orderListId"])
            by_client_id = {report.get("clientOrderId"): report for report in reports}
            for leg in protections.legs(session=session, protection_id=row.id):
                report = by_client_id.get(leg.client_order_id)
                if report is None:
                    continue
                leg.exchange_order_id = str(report["orderId"])
                leg.status = _status(report.get("status"))
                leg.status_reason = f"Binance: {report.get('status', 'accepted')}"
                leg.updated_at = utcnow()
                session.add(leg)
            intent.derive(session, row)

    # --- look up ------------------------------------------------------------------------

    def look_up(self, protection_id: int) -> None:
        """Ask Binance by our client ids what it holds of the protection."""
        rest, account, row = self._context(protection_id)
        if row is None:
            return
        legs = self._legs(protection_id)
        if len(legs) > 1:
            try:
                found = rest.call("v3_get_order_list", origClientOrderId=row.list_client_order_id)
            except ExchangeRefused as refusal:
                if refusal.code not in GONE:
                    raise
                self._not_found(protection_id)
                return
            self._list_id(protection_id, found.get("orderListId"))
        for leg in legs:
            try:
                found = rest.call(
                    "get_order", symbol=leg.symbol, origClientOrderId=leg.client_order_id
                )
            except ExchangeRefused as refusal:
                if refusal.code not in GONE:
                    raise
                self._not_found(protection_id)
                return
            self.broker.settle(rest, account, leg, found)

    def _not_found(self, protection_id: int) -> None:
        """Binance never received it: placed again (or dropped, if cancelled meanwhile)."""
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            if row.status != ProtectionStatus.UNKNOWN:
                return
        self._back_to_new(protection_id, "Binance never received it: to be placed again")

    def _list_id(self, protection_id: int, list_id) -> None:
        if list_id is None:
            return
        with self.db.writing() as session:
            row = _locked(session, protection_id)
            row.order_list_id = str(list_id)
            session.add(row)

    # --- cancel -------------------------------------------------------------------------

    def send_cancel(self, protection_id: int) -> None:
        rest, account, row = self._context(protection_id)
        if row is None or row.status != ProtectionStatus.OPEN:
            return
        legs = self._legs(protection_id)
        try:
            if len(legs) > 1:
                answer = rest.call(
                    "v3_delete_order_list",
                    symbol=row.symbol,
                    listClientOrderId=row.list_client_order_id,
                )
                reports = answer.get("orderReports", [])
            else:
                answer = rest.call(
                    "cancel_order", symbol=row.symbol, origClientOrderId=legs[0].client_order_id
                )
                reports = [answer]
        except ExchangeRefused as refusal:
            if refusal.code not in GONE:
                raise
            self.look_up(protection_id)  # filled (or gone) meanwhile: record what it did
            return
        by_id = {str(report.get("orderId")): report for report in reports}
        for leg in legs:
            report = by_id.get(leg.exchange_order_id or "")
            if report is None:
                report = rest.call(
                    "get_order", symbol=leg.symbol, origClientOrderId=leg.client_order_id
                )
            self.broker.settle(rest, account, leg, report)

    # --- reconciliation -----------------------------------------------------------------

    def reconcile(self, account: ExchangeAccount) -> None:
        """At start and periodically: every protection in doubt or held is looked up
        (fills made while the engine was away are booked, once); then every open position
        of the account's Binance bots gets what it should have (a missing protection
        placed, one of a wrong quantity or level replaced)."""
        bot_ids = self._bot_ids(account)
        for protection_id, status, _ in self.pending(bot_ids):
            if status in (ProtectionStatus.UNKNOWN, ProtectionStatus.OPEN):
                self.look_up(protection_id)
        with self.db.writing() as session:
            for position in session.exec(
                select(Position).where(
                    col(Position.bot_id).in_(bot_ids), Position.status == PositionStatus.OPEN
                )
            ).all():
                self.broker.ensure_protection(session, position)
        for protection_id, status, cancel in self.pending(bot_ids):
            self.step(protection_id, status, cancel)

    def _bot_ids(self, account: ExchangeAccount) -> list[int]:
        with self.db.reading() as session:
            return list(
                session.exec(
                    select(Bot.id).where(
                        Bot.exchange_account_id == account.id, Bot.broker == self.broker.name
                    )
                ).all()
            )

    # --- reading ------------------------------------------------------------------------

    def _context(self, protection_id: int):
        with self.db.reading() as session:
            row = session.get(Protection, protection_id)
            bot = session.get(Bot, row.bot_id) if row is not None else None
            account = (
                session.get(ExchangeAccount, bot.exchange_account_id)
                if bot is not None and bot.exchange_account_id is not None
                else None
            )
        if account is None:
            return None, None, None
        return self.broker.connections.rest_for(account), account, row

    def _legs(self, protection_id: int):
        with self.db.reading() as session:
            return protections.legs(session=session, protection_id=protection_id)


def _request(row: Protection, legs) -> tuple[str, dict]:
    """The python-binance call that places the protection, and its parameters."""
    stop = next((leg for leg in legs if leg.type == "stop"), None)
    take = next((leg for leg in legs if leg.type != "stop"), None)
    if stop is not None and take is not None:
        return "create_oco_order", {
            "symbol": row.symbol,
            "side": "SELL",
            "quantity": plain(stop.quantity),
            "listClientOrderId": row.list_client_order_id,
            "aboveType": "LIMIT_MAKER",
            "abovePrice": plain(take.price),
            "aboveClientOrderId": take.client_order_id,
            "belowType": "STOP_LOSS_LIMIT",
            "belowStopPrice": plain(stop.stop_price),
            "belowPrice": plain(stop.price),
            "belowTimeInForce": "GTC",
            "belowClientOrderId": stop.client_order_id,
            "newOrderRespType": "RESULT",
        }
    leg = stop or take
    return "create_order", {
        "symbol": row.symbol,
        "side": "SELL",
        "type": "STOP_LOSS_LIMIT" if leg is stop else "TAKE_PROFIT_LIMIT",
        "quantity": plain(leg.quantity),
        "stopPrice": plain(leg.stop_price),
        "price": plain(leg.price),
        "timeInForce": "GTC",
        "newClientOrderId": leg.client_order_id,
        "newOrderRespType": "RESULT",
    }


def _status(binance_status: str | None) -> str:
    return STATUS_FROM_BINANCE.get(binance_status, OrderStatus.OPEN)


def _locked(session: Session, protection_id: int) -> Protection:
    return session.exec(
        select(Protection).where(Protection.id == protection_id).with_for_update()
    ).one()


def _event(row: Protection, rule: str, message: str) -> RiskEvent:
    return RiskEvent(
        bot_id=row.bot_id,
        kind="exchange",
        rule=rule,
        severity="warning",
        message=message,
        details=json.dumps({"list_client_order_id": row.list_client_order_id}),
    )
