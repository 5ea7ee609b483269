"""The Trades page's filters (bot, symbol, status, from, to: UTC days, both included) as
query parameters, and its two CSV files: `/export/trade.csv` (every chosen trade, each
exit on a line below it) and `/export/trade_performance.csv` (each bot's figures)."""

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode

from botdesk.app import trade_rows
from botdesk.db import trades
from botdesk.db.models import PositionStatus
from botdesk.db.types import MAX_ID

PARAMETERS = {"bot", "symbol", "status", "from", "to"}
EXPORTS = ("trade", "trade_performance")
SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")
BATCH = 500  # trades read per query while a file streams


class BadTradeFilter(ValueError):
    """A filter the Trades page cannot apply; the message says which and why."""


def _day(text: str | None, name: str) -> date | None:
    if not text or not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadTradeFilter(f"{name} {text[:40]!r} is not a day (YYYY-MM-DD, UTC)") from None


def chosen_from(args: Mapping[str, str | None]) -> trades.TradeFilter:
    """The filter from the page's values or an export's query parameters."""
    bot = (args.get("bot") or "").strip()
    if bot and (not bot.isdigit() or not 1 <= int(bot) <= MAX_ID):
        raise BadTradeFilter(f"bot {bot[:40]!r} is not a bot id")
    symbol = (args.get("symbol") or "").strip().upper()
    if symbol and not SYMBOL.match(symbol):
        raise BadTradeFilter(f"symbol {symbol[:40]!r} is not a symbol like BTCUSDT")
    status = (args.get("status") or "").strip()
    if status and status not in set(PositionStatus):
        raise BadTradeFilter(f"status must be open or closed, not {status[:40]!r}")
    first, last = _day(args.get("from"), "from"), _day(args.get("to"), "to")
    if first and last and first > last:
        raise BadTradeFilter(f"from ({first}) is after to ({last})")
    return trades.TradeFilter(
        bot_id=int(bot) if bot else None,
        symbol=symbol or None,
        status=status or None,
        since=datetime.combine(first, time(), UTC) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
    )


def query_string(chosen: trades.TradeFilter) -> str:
    """The same filters as query parameters, for the export links."""
    last = chosen.until - timedelta(days=1) if chosen.until else None
    pairs = {
        "bot": chosen.bot_id,
        "symbol": chosen.symbol,
        "status": chosen.status,
        "from": chosen.since.date().isoformat() if chosen.since else None,
        "to": last.date().isoformat() if last else None,
    }
    return urlencode({key: value for key, value in pairs.items() if value})


def lines(db, name: str, chosen: trades.TradeFilter) -> Iterator[str]:
    """The file's text in pieces: the trades a batch at a time, newest entry first."""
    if name == "trade_performance":
        with db.reading() as session:
            yield trade_rows.performance_csv(trades.performance(session=session, chosen=chosen))
        return
    before, header = None, True
    while True:
        with db.reading() as session:
            page = trades.trades(session=session, chosen=chosen, limit=BATCH, before_id=before)
        text = trade_rows.trades_csv(page.trades)
        yield text if header else text.split("\r\n", 1)[1]
        header, before = False, page.next_before_id
        if before is None:
            return
