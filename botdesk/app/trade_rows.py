"""Trades and per-bot performance as the API and the CSV files show them (one definition
for both): money and ratios as exact 8-decimal text, times ISO 8601 UTC, durations in
seconds. In CSV, a trade's exits follow it on their own lines (`row` = "exit")."""

import csv
import io
from collections.abc import Iterable

from botdesk.app.api.rows import MONEY_PATTERN, money_text, safe_csv_text
from botdesk.db.trades import BotPerformance, Exit, Trade

RATIO_PATTERN = r"^-?[0-9]+\.[0-9]{8}$"
MONEY = {"type": "string", "pattern": MONEY_PATTERN}
RATIO = {"type": "string", "pattern": RATIO_PATTERN}
TIME = {"type": "string", "format": "date-time"}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


EXIT_SCHEMA = _object(
    {
        "order_id": {"type": "integer"},
        "at": TIME,
        "quantity": MONEY,
        "price": MONEY,
        "fees": MONEY,
        "pnl": MONEY,
        "reason": {"type": "string"},
        "note": {"type": ["string", "null"]},
    }
)
TRADE_SCHEMA = _object(
    {
        "position_id": {"type": "integer"},
        "bot_id": {"type": "integer"},
        "bot_name": {"type": "string"},
        "symbol": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "entry_at": TIME,
        "exit_at": _nullable(TIME),
        "quantity": MONEY,
        "entry_price": MONEY,
        "exited_quantity": MONEY,
        "exit_price": _nullable(MONEY),
        "cost": MONEY,
        "proceeds": MONEY,
        "pnl": MONEY,
        "pnl_ratio": RATIO,
        "fees": MONEY,
        "duration_seconds": {"type": ["integer", "null"]},
        "entry_signal_id": {"type": ["integer", "null"]},
        "entry_signal": {"type": ["string", "null"]},
        "confidence": {"type": ["number", "null"]},
        "exit_reason": {"type": ["string", "null"]},
        "exit_note": {"type": ["string", "null"]},
        "exits": {"type": "array", "items": EXIT_SCHEMA},
    }
)
BOT_PERFORMANCE_SCHEMA = _object(
    {
        "bot_id": {"type": "integer"},
        "bot_name": {"type": "string"},
        "trades": {"type": "integer"},
        "wins": {"type": "integer"},
        "win_rate": RATIO,
        "average_pnl_ratio": RATIO,
        "total_pnl_ratio": RATIO,
        "total_pnl": MONEY,
        "profit_factor": _nullable(RATIO),
        "max_drawdown": MONEY,
        "average_duration_seconds": {"type": "integer"},
        "expectancy": MONEY,
    }
)


def _money(value) -> str | None:
    return money_text(value) if value is not None else None


def exit_json(found: Exit) -> dict:
    return {
        "order_id": found.order_id,
        "at": found.at.isoformat(),
        "quantity": money_text(found.quantity),
        "price": money_text(found.price),
        "fees": money_text(found.fees),
        "pnl": money_text(found.pnl),
        "reason": found.reason,
        "note": found.note,
    }


def trade_json(trade: Trade) -> dict:
    duration = trade.duration
    return {
        "position_id": trade.position_id,
        "bot_id": trade.bot_id,
        "bot_name": trade.bot_name,
        "symbol": trade.symbol,
        "status": trade.status,
        "entry_at": trade.entry_at.isoformat(),
        "exit_at": trade.exit_at.isoformat() if trade.exit_at else None,
        "quantity": money_text(trade.quantity),
        "entry_price": money_text(trade.entry_price),
        "exited_quantity": money_text(trade.exited_quantity),
        "exit_price": _money(trade.exit_price),
        "cost": money_text(trade.cost),
        "proceeds": money_text(trade.proceeds),
        "pnl": money_text(trade.pnl),
        "pnl_ratio": money_text(trade.pnl_ratio),
        "fees": money_text(trade.fees),
        "duration_seconds": round(duration.total_seconds()) if duration is not None else None,
        "entry_signal_id": trade.entry_signal_id,
        "entry_signal": trade.entry_signal,
        "confidence": trade.confidence,
        "exit_reason": trade.exit_reason,
        "exit_note": trade.exit_note,
        "exits": [exit_json(found) for found in trade.exits],
    }


def performance_json(found: BotPerformance) -> dict:
    return {
        "bot_id": found.bot_id,
        "bot_name": found.bot_name,
        "trades": found.trades,
        "wins": found.wins,
        "win_rate": money_text(found.win_rate),
        "average_pnl_ratio": money_text(found.average_pnl_ratio),
        "total_pnl_ratio": money_text(found.total_pnl_ratio),
        "total_pnl": money_text(found.total_pnl),
        "profit_factor": _money(found.profit_factor),
        "max_drawdown": money_text(found.max_drawdown),
        "average_duration_seconds": round(found.average_duration.total_seconds()),
        "expectancy": money_text(found.expectancy),
    }


# --- CSV ---------------------------------------------------------------------------

EXIT_COLUMNS = {  # an exit's line: its values under the trade's columns
    "exit_at": "at",
    "exited_quantity": "quantity",
    "exit_price": "price",
    "fees": "fees",
    "pnl": "pnl",
    "exit_reason": "reason",
    "exit_note": "note",
}
TRADE_COLUMNS = ["row"] + [name for name in TRADE_SCHEMA["properties"] if name != "exits"]
PERFORMANCE_COLUMNS = list(BOT_PERFORMANCE_SCHEMA["properties"])


def _cells(values: dict) -> dict:
    """Text a spreadsheet would run is quoted; the rest as the JSON shows it."""
    return {
        name: safe_csv_text(value) if isinstance(value, str) else ("" if value is None else value)
        for name, value in values.items()
    }


def trade_lines(trades: Iterable[Trade]) -> list[dict]:
    lines = []
    for trade in trades:
        shown = trade_json(trade)
        lines.append(_cells({"row": "trade", **{c: shown[c] for c in TRADE_COLUMNS[1:]}}))
        for found in shown["exits"]:
            line = dict.fromkeys(TRADE_COLUMNS, None)
            line.update(row="exit", position_id=trade.position_id, bot_id=trade.bot_id)
            line.update(bot_name=trade.bot_name, symbol=trade.symbol, status=trade.status)
            line.update({column: found[key] for column, key in EXIT_COLUMNS.items()})
            lines.append(_cells(line))
    return lines


def csv_text(columns: list[str], lines: Iterable[dict]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(lines)
    return text.getvalue()


def trades_csv(trades: Iterable[Trade]) -> str:
    return csv_text(TRADE_COLUMNS, trade_lines(trades))


def performance_csv(figures: Iterable[BotPerformance]) -> str:
    return csv_text(PERFORMANCE_COLUMNS, (_cells(performance_json(f)) for f in figures))
