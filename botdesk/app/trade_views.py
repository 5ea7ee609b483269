"""The Trades page's tables: each bot's performance, and the trades (one row per round
trip, its partial exits on indented rows below it), in the desk's formats."""

from datetime import timedelta
from decimal import Decimal

import dash_bootstrap_components as dbc
from dash import html

from botdesk.app.components import (
    empty_state,
    format_money,
    format_quantity,
    format_time,
    signed_money,
    small_table,
)
from botdesk.db.trades import BotPerformance, Exit, Trade

EXIT_WORDS = {
    "exit": "strategy exit",
    "stop_loss": "stop-loss",
    "take_profit": "take-profit",
    "trailing_stop": "trailing stop",
    "close": "closed by an operator",
    "flatten": "kill switch flatten",
    "webhook": "webhook exit",
    "dust": "dust written off",
}


def percent(share: Decimal | None) -> str:
    return "—" if share is None else f"{share * 100:+.2f} %"


def signed_percent(share: Decimal) -> html.Span:
    color = "text-success" if share > 0 else "text-danger" if share < 0 else ""
    return html.Span(percent(share), className=color)


def duration_text(held: timedelta | None) -> str:
    """3d 4h, 2h 07m, 45m 30s: the two largest units."""
    if held is None:
        return "open"
    seconds = round(held.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {seconds:02d}s"


def reason_text(reason: str | None, note: str | None) -> str:
    if reason is None:
        return "—"
    words = EXIT_WORDS.get(reason, reason)
    return f"{words}: {note}" if note else words


def _time(moment) -> html.Span:
    return html.Span(format_time(moment).removesuffix(" UTC"), className="text-nowrap")


PERFORMANCE_HEADER = [
    "Bot",
    "Trades",
    "Win rate",
    "Avg P&L %",
    "Total P&L %",
    "Total P&L (USDT)",
    "Profit factor",
    "Max drawdown (USDT)",
    "Avg duration",
    "Expectancy (USDT)",
]


def performance_table(figures: list[BotPerformance]):
    if not figures:
        return empty_state("No closed trade matches: the figures come with the first exit.")
    rows = [
        [
            found.bot_name,
            str(found.trades),
            f"{found.win_rate * 100:.1f} %",
            signed_percent(found.average_pnl_ratio),
            signed_percent(found.total_pnl_ratio),
            signed_money(found.total_pnl, ""),
            f"{found.profit_factor:.2f}" if found.profit_factor is not None else "no loss",
            format_money(found.max_drawdown, ""),
            duration_text(found.average_duration),
            signed_money(found.expectancy, ""),
        ]
        for found in figures
    ]
    return small_table(PERFORMANCE_HEADER, rows, set(range(1, 10)), id="trades-performance-table")


TRADE_HEADER = [
    "Bot",
    "Symbol",
    "Entry (UTC)",
    "Entry price",
    "Exit (UTC)",
    "Exit price",
    "Qty",
    "P&L (USDT)",
    "P&L %",
    "Fees",
    "Duration",
    "Entry signal",
    "Exit reason",
]
NUMERIC = {3, 5, 6, 7, 8, 9}


def _cell(index: int, value, extra: str = "") -> html.Td:
    names = ("num text-nowrap " if index in NUMERIC else "") + extra
    return html.Td(value, className=names.strip() or None)


def _trade_row(trade: Trade) -> html.Tr:
    signal = "—"
    if trade.entry_signal is not None:
        signal = f"{trade.entry_signal} ({trade.confidence:.2f})"
    values = [
        trade.bot_name,
        trade.symbol,
        _time(trade.entry_at),
        format_money(trade.entry_price, ""),
        _time(trade.exit_at) if trade.exit_at else html.Span("open", className="text-info"),
        format_money(trade.exit_price, "") if trade.exit_price is not None else "—",
        format_quantity(trade.quantity),
        signed_money(trade.pnl, ""),
        signed_percent(trade.pnl_ratio),
        format_money(trade.fees, ""),
        duration_text(trade.duration),
        signal,
        reason_text(trade.exit_reason, trade.exit_note),
    ]
    return html.Tr(
        [_cell(i, v) for i, v in enumerate(values)], id=f"trades-row-{trade.position_id}"
    )


def _exit_row(trade: Trade, found: Exit, number: int) -> html.Tr:
    label = "partial exit" if found.quantity < trade.quantity else "exit"
    values = [
        html.Span(f"↳ {label} {number}", className="ps-3"),
        "",
        "",
        "",
        _time(found.at),
        format_money(found.price, ""),
        format_quantity(found.quantity),
        signed_money(found.pnl, ""),
        "",
        format_money(found.fees, ""),
        "",
        "",
        reason_text(found.reason, found.note),
    ]
    return html.Tr(
        [_cell(i, v, "small text-secondary") for i, v in enumerate(values)],
        className="trade-exit",
    )


def trades_table(trades: list[Trade]):
    if not trades:
        return empty_state("No trade matches. Bots make them on their signals.")
    body = []
    for trade in trades:
        body.append(_trade_row(trade))
        if len(trade.exits) > 1 or (trade.exits and trade.status == "open"):
            body += [_exit_row(trade, found, n) for n, found in enumerate(trade.exits, 1)]
    header = html.Thead(
        html.Tr(
            [
                html.Th(h, className="num" if i in NUMERIC else None)
                for i, h in enumerate(TRADE_HEADER)
            ]
        )
    )
    return dbc.Table(
        [header, html.Tbody(body)],
        size="sm",
        hover=True,
        responsive=True,
        className="mb-0",
        id="trades-table",
    )
