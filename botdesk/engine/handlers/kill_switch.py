"""kill_switch.engage and kill_switch.release: the engine's half of the kill switch.

The latch is already set (by `botdesk.db.kill_switch.engage`, in the transaction that
issued the command). Engaging then halts every bot in one statement and cancels every
open order through its broker, both in the command's first transaction, so they become
visible together in one commit, quickly; with flatten, every open position is then
closed at market (the only orders the order path lets through while engaged; each
releases the stop its position has on the exchange first). Without flatten, the stops an
exchange holds for open positions stay (`cancel_open_orders` leaves them). Release
resumes nothing: bots stay stopped until someone starts them.
"""

import logging

from sqlalchemy import and_, not_, update
from sqlmodel import col, func, select

from botdesk.db import engine_state
from botdesk.db.models import Bot, BotState, Position, PositionStatus
from botdesk.db.types import utcnow
from botdesk.engine.commands import CommandContext, Continue, handles
from botdesk.engine.handlers.common import cancel_open_orders, market_now
from botdesk.engine.orders import OrderRefused, OrderRequest, command_order_id, submit

log = logging.getLogger(__name__)


def halt_every_bot(session, reason: str) -> int:
    """One UPDATE: every bot not already stopped is stopped and marked halted."""
    result = session.execute(
        update(Bot)
        .where(
            not_(
                and_(
                    Bot.desired_state == BotState.STOPPED,
                    col(Bot.status).in_((BotState.STOPPED, BotState.HALTED)),
                )
            )
        )
        .values(
            desired_state=BotState.STOPPED,
            status=BotState.HALTED,
            status_reason=reason,
            status_changed_at=utcnow(),
        )
    )
    return result.rowcount


@handles("kill_switch.engage")
def engage(context: CommandContext) -> str | Continue:
    session = context.session
    state = engine_state.get(session=session)
    why = state.kill_switch_reason or context.command.reason or "no reason given"
    by = state.kill_switch_by or context.command.issued_by
    halted = halt_every_bot(session, f"halted by the kill switch ({by}): {why}")
    cancelled = cancel_open_orders(context)
    summary = f"halted {halted} bot(s), cancelled {cancelled} open order(s)"
    if not (context.params.get("flatten") or state.kill_switch_flatten):
        return summary
    command_id = context.command.id
    return Continue(
        work=lambda: f"{summary}; {flatten_every_position(context.runtime, command_id)}",
        progress=f"{summary}; flattening",
    )


def flatten_every_position(runtime, command_id: int) -> str:
    """Close every open position at market now, one transaction per position."""
    with runtime.db.reading() as session:
        ids = list(
            session.exec(select(Position.id).where(Position.status == PositionStatus.OPEN)).all()
        )
    closed, refused = 0, []
    for position_id in ids:
        with runtime.db.writing() as session:
            position = session.get(Position, position_id)
            if position is None or position.status != PositionStatus.OPEN:
                continue
            bot = session.exec(select(Bot).where(Bot.id == position.bot_id).with_for_update()).one()
            market = market_now(session, position.symbol)
            request = OrderRequest(
                bot=bot,
                side="sell",
                quantity=position.quantity,
                purpose="flatten",
                client_order_id=command_order_id(bot.id, command_id, position.id),
                reference_price=market.last_price,
                immediate=True,
                flatten=True,
            )
            try:
                submit(session, request, broker=runtime.brokers.get(bot.broker), market=market)
                closed += 1
            except OrderRefused as refusal:
                refused.append(f"position {position_id}: {refusal.reason}")
    message = f"flattened {closed} position(s)"
    if refused:
        message += f"; could not flatten {len(refused)}: " + "; ".join(refused)
        log.error("kill switch flatten: %s", message)
    return message


@handles("kill_switch.release")
def release(context: CommandContext) -> str:
    state = engine_state.get(session=context.session)
    stopped = context.session.exec(
        select(func.count()).select_from(Bot).where(Bot.status == BotState.HALTED)
    ).one()
    who = state.released_by or context.command.issued_by
    why = state.release_reason or context.command.reason
    if state.kill_switch_engaged:
        return f"kill switch engaged again since this release by {who}; nothing changes"
    return (
        f"released by {who}: {why}; nothing resumes: {stopped} halted bot(s) stay stopped "
        "until someone starts them"
    )
