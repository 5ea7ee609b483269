"""Bots: list, detail, and start, stop or pause (each queued as an engine command)."""

from typing import Literal

from flask import jsonify
from sqlmodel import Session, col, select

from botdesk.app.api.commands import COMMAND_RESPONSE, accepted, queue
from botdesk.app.api.errors import ApiError
from botdesk.app.api.idempotency import writing
from botdesk.app.api.inputs import Body, ListQuery, Name, Reason, Symbol, one_of
from botdesk.app.api.lists import list_endpoint
from botdesk.app.api.positions import POSITIONS
from botdesk.app.api.routing import ID, operation
from botdesk.app.api.rows import Resource
from botdesk.app.context import desk_db
from botdesk.db import kill_switch
from botdesk.db.api_keys import KeyHolder
from botdesk.db.models import Bot, BotState, Position, PositionStatus, Scope

BOTS = Resource(
    "Bot", Bot, hidden=frozenset({"webhook_token_hash"}), json_columns=frozenset({"params"})
)


class BotFilters(ListQuery):
    status: one_of(BotState) | None = None
    symbol: Symbol | None = None
    strategy: Name | None = None
    broker: Literal["paper", "binance"] | None = None


list_endpoint(
    resource=BOTS,
    rule="/bots",
    tag="bots",
    summary="List bots",
    filters=BotFilters,
)


def _bot(session: Session, bot_id: int) -> Bot:
    bot = session.get(Bot, bot_id)
    if bot is None:
        raise ApiError(404, "not_found", f"no bot {bot_id}")
    return bot


@operation(
    "GET",
    f"/bots/<{ID}:bot_id>",
    summary="One bot, with its open positions",
    tag="bots",
    scope=Scope.READ,
    response={
        "type": "object",
        "properties": {
            "bot": {"$ref": "#/components/schemas/Bot"},
            "open_positions": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Position"},
            },
        },
        "required": ["bot", "open_positions"],
    },
    errors=(404,),
)
def get_bot(bot_id: int, holder: KeyHolder):
    with desk_db().reading() as session:
        bot = _bot(session, bot_id)
        positions = session.exec(
            select(Position)
            .where(Position.bot_id == bot_id, Position.status == PositionStatus.OPEN)
            .order_by(col(Position.id))
        ).all()
    return jsonify(bot=BOTS.to_json(bot), open_positions=[POSITIONS.to_json(p) for p in positions])


class Control(Body):
    reason: Reason | None = None


def _control(kind: str, verb: str, bot_id: int, holder: KeyHolder, body: Control):
    with writing() as session:
        bot = _bot(session, bot_id)
        if kind == "bot.start" and kill_switch.status(session=session).engaged:
            raise ApiError(409, "kill_switch_engaged", kill_switch.START_REFUSED)
        command = queue(
            session=session,
            holder=holder,
            kind=kind,
            target=f"bot:{bot.id}",
            reason=body.reason or f"{verb} through the API",
        )
    return accepted(command)


def _control_operation(kind: str, verb: str, summary: str):
    def control(bot_id: int, holder: KeyHolder, body: Control):
        return _control(kind, verb, bot_id, holder, body)

    control.__name__ = kind.replace(".", "_")
    operation(
        "POST",
        f"/bots/<{ID}:bot_id>/{verb}",
        summary=summary,
        tag="bots",
        scope=Scope.TRADE,
        response=COMMAND_RESPONSE,
        status=202,
        body=Control,
        errors=(400, 404, 409) if kind == "bot.start" else (400, 404),
        description="Queues the command for the engine and answers at once; follow "
        "`GET /api/v1/commands/{id}` to see it done.",
    )(control)


_control_operation("bot.start", "start", "Start a bot")
_control_operation("bot.stop", "stop", "Stop a bot (open positions stay open)")
_control_operation("bot.pause", "pause", "Pause a bot (it manages open positions, opens none)")
