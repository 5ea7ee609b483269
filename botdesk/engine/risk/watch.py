"""The position watch's moving parts: a trailing stop and the move to breakeven.

`botdesk.engine.trading` checks the position's stop-loss and take-profit inside every
candle (stop first, per the fill rules) and sends the exit through the order path. After
that check, `ratchet` moves the stop up for the candles that follow, never down:
- trailing stop: `trailing_stop_percent` below the highest price since entry, or
  `trailing_stop_atr` x ATR(14) (of the bot's timeframe, at this candle) below it;
- breakeven: once the price has reached `breakeven_at` (entry x (1 + gain %)), the stop
  goes up to the entry price.
A candle's own high moves the stop only from the next candle on, so no exit ever depends
on the order of prices inside one candle. `configure` gives a new position these settings
from the bot's risk limits when its entry fills.
"""

from decimal import Decimal

import numpy as np

from botdesk.db import candles as candle_store
from botdesk.db import risk_limits
from botdesk.db.models import Bot, Position
from botdesk.db.types import quantize
from botdesk.engine.brokers.base import CandlePrices
from botdesk.engine.frames import to_decimal
from botdesk.engine.indicators.ta import atr

ATR_PERIOD = 14
HUNDRED = Decimal(100)


def configure(session, position: Position) -> None:
    """A newly opened position takes the trailing and breakeven settings of its bot."""
    limits = risk_limits.effective(session=session, bot_id=position.bot_id)
    position.trailing_percent = limits.get("trailing_stop_percent")
    position.trailing_atr = limits.get("trailing_stop_atr")
    gain = limits.get("breakeven_after_percent")
    if gain is not None and position.entry_price is not None:
        position.breakeven_at = quantize(position.entry_price * (1 + gain / HUNDRED))
    session.add(position)


def trails(position: Position) -> bool:
    return position.trailing_percent is not None or position.trailing_atr is not None


def ratchet(session, bot: Bot, position: Position, candle: CandlePrices) -> None:
    """Move the stop up after this candle: trailing stop, then breakeven."""
    highest = max(position.highest_price or candle.high, candle.high)
    position.highest_price = highest
    candidates = []
    if position.trailing_percent is not None:
        candidates.append(highest * (1 - position.trailing_percent / HUNDRED))
    if position.trailing_atr is not None:
        distance = _atr(session, bot, candle)
        if distance is not None:
            candidates.append(highest - position.trailing_atr * distance)
    if (
        position.breakeven_at is not None
        and position.entry_price is not None
        and highest >= position.breakeven_at
    ):
        candidates.append(position.entry_price)
    best = max(candidates, default=None)
    if best is not None and best > 0:
        best = quantize(best)
        if position.stop_price is None or best > position.stop_price:
            position.stop_price = best
    session.add(position)


def _atr(session, bot: Bot, candle: CandlePrices) -> Decimal | None:
    rows = candle_store.recent(
        session=session,
        symbol=bot.symbol,
        timeframe=bot.timeframe,
        limit=ATR_PERIOD * 3,
        until_ms=candle.open_time_ms,
    )
    if len(rows) <= ATR_PERIOD:
        return None
    values = atr(
        np.array([float(r.high) for r in rows]),
        np.array([float(r.low) for r in rows]),
        np.array([float(r.close) for r in rows]),
        ATR_PERIOD,
    )
    last = float(values[-1])
    return None if np.isnan(last) else to_decimal(last)
