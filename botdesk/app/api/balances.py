"""Balances: per account and asset, what the account holds against the bots' books."""

from flask import jsonify

from botdesk.app.api.routing import operation
from botdesk.app.api.rows import MONEY_PATTERN, money_text
from botdesk.app.context import desk_db
from botdesk.db import balances
from botdesk.db.models import Scope

MONEY_OR_NULL = {"type": ["string", "null"], "pattern": MONEY_PATTERN}
HOLDING = {
    "type": "object",
    "properties": {
        "asset": {"type": "string"},
        "free": MONEY_OR_NULL,
        "locked": MONEY_OR_NULL,
        "total": MONEY_OR_NULL,
        "booked": {"type": "string", "pattern": MONEY_PATTERN},
        "difference": MONEY_OR_NULL,
    },
    "required": ["asset", "free", "locked", "total", "booked", "difference"],
    "additionalProperties": False,
}
WALLET = {
    "type": "object",
    "properties": {
        "account": {"type": "string"},
        "exchange_account_id": {"type": ["integer", "null"]},
        "environment": {"type": "string", "enum": ["paper", "testnet", "live"]},
        "read_at": {"type": ["string", "null"], "format": "date-time"},
        "assets": {"type": "array", "items": HOLDING},
    },
    "required": ["account", "exchange_account_id", "environment", "read_at", "assets"],
    "additionalProperties": False,
}
BALANCES = {
    "type": "object",
    "properties": {"items": {"type": "array", "items": WALLET}},
    "required": ["items"],
    "additionalProperties": False,
}


def _money(value) -> str | None:
    return money_text(value) if value is not None else None


def holding_json(holding: balances.Holding) -> dict:
    return {
        "asset": holding.asset,
        "free": _money(holding.free),
        "locked": _money(holding.locked),
        "total": _money(holding.held),
        "booked": money_text(holding.booked),
        "difference": _money(holding.difference),
    }


def wallet_json(wallet: balances.Wallet) -> dict:
    return {
        "account": wallet.name,
        "exchange_account_id": wallet.exchange_account_id,
        "environment": wallet.environment,
        "read_at": wallet.read_at.isoformat() if wallet.read_at else None,
        "assets": [holding_json(holding) for holding in wallet.holdings],
    }


@operation(
    "GET",
    "/balances",
    summary="Balances per account and asset, against the bots' books",
    tag="balances",
    scope=Scope.READ,
    response=BALANCES,
    description="The paper account (the paper bots' cash in their quote asset and open "
    "positions in the base asset: it holds exactly what they book) and each exchange "
    "account with bots or balances. An exchange account's `free` and `locked` are what "
    "the engine last read from the exchange (`read_at`; null: not read yet, the desk "
    "never calls the exchange); `booked` is what its bots' books hold; `difference` = "
    "`total` - `booked` (below 0: the account is short of what the books say).",
)
def list_balances(holder):
    with desk_db().reading() as session:
        found = balances.wallets(session=session)
    return jsonify(items=[wallet_json(wallet) for wallet in found])
