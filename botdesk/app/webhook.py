"""`POST /webhook/tradingview/<token>`: a TradingView alert becomes a signal for one bot.

The token in the URL names the bot (TradingView cannot send headers). The alert must be for
the bot's symbol; it is written as a `new` signal with a `signal.execute` command, so the
engine takes it through the same risk checks as a strategy's signal. A repeated alert id
answers "duplicate" and changes nothing. A bad payload gets a 4xx and an audit row.
"""

import logging
from decimal import Decimal
from typing import Annotated, Literal

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from botdesk.app.api import errors
from botdesk.app.api.errors import ApiError
from botdesk.app.api.inputs import describe, read_body, read_json
from botdesk.app.context import desk_db
from botdesk.db import audit, signals, webhook_tokens
from botdesk.db.models import Bot
from botdesk.db.signals import Alert
from botdesk.db.types import quantize

log = logging.getLogger(__name__)

blueprint = Blueprint("webhook", __name__, url_prefix="/webhook")
errors.install(blueprint)

MAX_ALERT_BYTES = 16 * 1024
MAX_PRICE = Decimal("10000000000")


def _lower(value):
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


Price = Annotated[Decimal, Field(gt=0, lt=MAX_PRICE, allow_inf_nan=False)]


class TradingViewAlert(BaseModel):
    """The alert message TradingView posts (see docs/webhook.md for the template)."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")
    action: Annotated[Literal["buy", "sell", "close"], BeforeValidator(_lower)]
    # "BTCUSDT", or TradingView's "{{exchange}}:{{ticker}}" form "BINANCE:BTCUSDT"
    symbol: Annotated[str, BeforeValidator(_upper), Field(pattern=r"^([A-Z]+:)?[A-Z0-9]{2,20}$")]
    price: Price
    stop: Price | None = None
    take_profit: Price | None = None


def _audit_refusal(bot: Bot | None, reason: str, raw: bytes) -> None:
    with desk_db().writing() as session:
        audit.record(
            session=session,
            actor=f"webhook:bot:{bot.id}" if bot else "webhook",
            action="webhook.rejected" if bot else "webhook.refused",
            target=f"bot:{bot.id}" if bot else "webhook:tradingview",
            outcome="refused",
            reason=reason,
            ip=request.remote_addr,
            details={"payload": raw[:1000].decode("utf-8", errors="replace")},
        )
    log.warning("webhook refused (%s): %s", f"bot {bot.id}" if bot else "no bot", reason)


def _refuse(bot: Bot | None, status: int, code: str, reason: str):
    try:
        raw = read_body(MAX_ALERT_BYTES)
    except ApiError:
        raw = b"(too large to keep)"
    _audit_refusal(bot, reason, raw)
    raise ApiError(status, code, reason)


def _alert_for(bot: Bot) -> Alert:
    try:
        payload = read_json(MAX_ALERT_BYTES)
    except ApiError as error:
        _refuse(bot, error.status, error.code, error.message)
    if not isinstance(payload, dict):
        _refuse(bot, 400, "invalid_alert", "the alert must be a JSON object")
    try:
        alert = TradingViewAlert.model_validate(payload)
    except ValidationError as error:
        _refuse(bot, 400, "invalid_alert", describe(error))
    symbol = alert.symbol.rsplit(":", 1)[-1]
    if symbol != bot.symbol.upper():
        _refuse(
            bot, 400, "wrong_symbol", f"the alert is for {symbol}; this bot trades {bot.symbol}"
        )
    stop, take_profit = (alert.stop, alert.take_profit) if alert.action == "buy" else (None, None)
    if stop is not None and stop >= alert.price:
        _refuse(bot, 400, "invalid_alert", "stop must be below the price of a buy")
    if take_profit is not None and take_profit <= alert.price:
        _refuse(bot, 400, "invalid_alert", "take_profit must be above the price of a buy")
    levels = [
        quantize(level) if level is not None else None for level in (alert.price, stop, take_profit)
    ]
    if any(level is not None and level <= 0 for level in levels):
        _refuse(bot, 400, "invalid_alert", "prices must be at least 0.00000001")
    price, stop, take_profit = levels
    return Alert(
        alert_id=alert.alert_id,
        action=alert.action,
        price=price,
        stop=stop,
        take_profit=take_profit,
    )


@blueprint.route("/tradingview/<token>", methods=["POST"])
def tradingview(token: str):
    with desk_db().reading() as session:
        bot = webhook_tokens.bot_for_token(session=session, token=token)
    if bot is None:
        _refuse(None, 404, "unknown_token", "no bot has this webhook token")
    if not bot.accepts_webhook:
        _refuse(bot, 403, "webhook_off", f"bot {bot.name!r} does not accept webhook signals")
    alert = _alert_for(bot)
    outcome = _record(bot.id, alert)
    if outcome.duplicate:
        log.info("webhook alert %s for bot %s repeated: ignored", alert.alert_id, bot.id)
        return jsonify(status="duplicate", signal_id=outcome.signal.id), 200
    return jsonify(
        status="accepted", signal_id=outcome.signal.id, command_id=outcome.command.id
    ), 201


def _record(bot_id: int, alert: Alert) -> signals.AlertOutcome:
    """Write the alert; a repeat that raced us to the unique key is answered as a repeat."""
    try:
        with desk_db().writing() as session:
            bot = session.get(Bot, bot_id)
            return signals.record_alert(
                session=session, bot=bot, alert=alert, ip=request.remote_addr
            )
    except IntegrityError:
        with desk_db().reading() as session:
            found = signals.by_dedupe_key(
                session=session, bot_id=bot_id, key=signals.dedupe_key(alert.alert_id)
            )
        if found is None:
            raise
        return signals.AlertOutcome(signal=found, command=None, duplicate=True)
