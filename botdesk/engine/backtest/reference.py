"""The reference backtest, in Decimal: the signals traded with the paper broker's fill rules
(`botdesk.engine.fill_rules`), sizing (`botdesk.engine.sizing`) and ledger arithmetic
(`botdesk.engine.ledger.Book`), one trade at a time. `botdesk.engine.backtest.simulate`
is the compiled core that runs backtests; this is its specification, kept executable: the
tests compare every trade and the equity of the two to the last unit, and bench/ times it.

It walks from trade to trade, not from candle to candle: numpy finds the next buy
signal, the next sell signal and the first candle touching the stop or take-profit, so
the cost grows with the number of trades. The order of events is the live engine's:
a buy signal on candle s fills at the open of s+1 (sized on the cash and the close of s,
refused if the cash does not cover it at the fill); from the entry candle on, a stop or
take-profit touched inside a candle exits there (stop first); a sell signal on candle x
exits at the open of x+1; buy signals while in a position are ignored; a position still
open after the last candle is closed at its close ("end_of_data").

A signal with a limit price (`SignalFrame.limit`) asks for a limit order instead, good for
n candles after its own (0: until cancelled), as the paper broker rests it: a buy limit
from candle s+1 on fills at the first candle whose low reaches it, at the limit or at the
open when the candle opened below it (no slippage), sized on the limit price; unfilled,
it expires when candle s+n+1 opens and the signals are looked at again from there (while
it rests, other signals are ignored, as the live bot ignores them). A sell limit rests
likewise; in each candle the position's stop-loss comes first, then the exit limit (at
the limit or the open above it), then the take-profit; unfilled, it expires and the
position carries on from candle x+n+1.
"""

import math
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from botdesk.db.models import Side
from botdesk.db.types import MONEY_UNIT, to_units
from botdesk.engine import fill_rules
from botdesk.engine.backtest.sizing import ALL_CASH_SIZING, Sizing
from botdesk.engine.backtest.trades import END_OF_DATA, REASONS, Simulation, TradeTable
from botdesk.engine.frames import BUY, SELL, CandleFrame, SignalFrame, to_decimal
from botdesk.engine.ledger import Book

BUY_SIDE, SELL_SIDE = Side.BUY.value, Side.SELL.value


def simulate(
    candles: CandleFrame,
    signals: SignalFrame,
    *,
    fee_rate: Decimal,
    slippage_bps: Decimal,
    capital: Decimal,
    sizing: Sizing = ALL_CASH_SIZING,
    progress: Callable[[float], None] | None = None,
) -> Simulation:
    """Trade the signals with the paper broker's rules; see the module docstring."""
    count = len(candles)
    buys = np.flatnonzero(signals.side == BUY).tolist()
    sells = np.flatnonzero(signals.side == SELL).tolist()
    protected = not (np.isnan(signals.stop).all() and np.isnan(signals.take_profit).all())
    closes, opens = candles.close, candles.open
    market_price, fee_for = fill_rules.market_fill_price, fill_rules.fee_for
    limit_price = fill_rules.limit_fill_price
    cash, fees = Decimal(capital), Decimal(0)
    rows: list[tuple] = []  # entry, entry price, exit, exit price, quantity, fees, pnl, reason
    held: list[tuple[int, int, float, float]] = []  # entry, exit, cash while held, quantity
    refused = 0
    start = 0
    while True:
        k = bisect_left(buys, start)
        if k >= len(buys) or buys[k] + 1 >= count:
            break
        signal_at = buys[k]
        stop = signals.stop[signal_at]
        limit = _limit(signals, signal_at)
        quantity = sizing.quantity(
            price=limit.price if limit else to_decimal(closes[signal_at]),
            stop=None if math.isnan(stop) else to_decimal(stop),
            cash=cash,
            capital=Decimal(capital),
            fee_rate=fee_rate,
            slippage_bps=slippage_bps,
        )
        if limit is None:
            entry_at = signal_at + 1
            entry_price = market_price(to_decimal(opens[entry_at]), BUY_SIDE, slippage_bps)
        else:
            span = limit.span(signal_at, count)
            touched = fill_rules.limit_touched(
                BUY_SIDE, float(limit.price), candles.high[span], candles.low[span]
            )
            if not touched.any():
                if span.stop >= count:
                    break  # it rests to the end: nothing else is bought
                start = span.stop  # expired when this candle opened
                continue
            entry_at = span.start + int(np.argmax(touched))
            entry_price = limit_price(BUY_SIDE, limit.price, to_decimal(opens[entry_at]))
        notional = (quantity * entry_price).quantize(MONEY_UNIT)
        entry_fee = fee_for(notional, fee_rate)
        if quantity <= 0 or notional + entry_fee > cash:
            refused += 1  # as the live bot's order would be
            start = entry_at
            continue
        book = Book()
        book.apply(side=BUY_SIDE, quantity=quantity, price=entry_price, fee=entry_fee)
        held_cash = cash - book.cost_basis + book.realized_pnl  # less the cost and the fee
        exit_at, exit_price, reason = _exit(
            candles, signals, sells, signal_at, entry_at, slippage_bps, protected
        )
        exit_fee = fee_for((quantity * exit_price).quantize(MONEY_UNIT), fee_rate)
        book.apply(side=SELL_SIDE, quantity=quantity, price=exit_price, fee=exit_fee)
        cash += book.realized_pnl  # a round trip changes the cash by its net P&L, exactly
        fees += book.fees
        held.append((entry_at, exit_at, float(held_cash), float(quantity)))
        rows.append(
            (entry_at, entry_price, exit_at, exit_price, quantity, book.fees,
             book.realized_pnl, reason)
        )  # fmt: skip
        if progress is not None and len(rows) % 50 == 0:
            progress(exit_at / count)
        if reason == END_OF_DATA:
            break
        start = exit_at
    table = TradeTable.of(
        candles,
        [
            [row[0], row[2], *map(to_units, (row[1], *row[3:7])), REASONS.index(row[7])]
            for row in rows
        ],
    )
    equity = _equity(closes, float(capital), held, [float(row[6]) for row in rows])
    return Simulation(table, equity, cash, fees, refused)


@dataclass(frozen=True)
class _Limit:
    price: Decimal  # to 8 places, as the order stores it
    good_for: int  # candles after the signal's; 0: until cancelled

    def span(self, signal_at: int, count: int) -> slice:
        """The candles the order may fill in; its stop is where it expired (or count)."""
        last = count - 1 if self.good_for == 0 else min(signal_at + self.good_for, count - 1)
        return slice(signal_at + 1, last + 1)


def _limit(signals: SignalFrame, index: int) -> _Limit | None:
    asked = signals.limit_at(index)
    return None if asked is None else _Limit(to_decimal(asked[0]), asked[1])


def _exit(candles, signals, sells, signal_at, entry_at, slippage_bps, protected):
    """(candle, price, reason) of the position's exit: its stop-loss or take-profit, the
    first sell signal's market exit or limit exit, or the end of the data."""
    count, opens = len(candles), candles.open
    start = entry_at  # from where the stop, take-profit and sell signals are looked at
    while True:
        k = bisect_left(sells, start)
        sell_at = sells[k] if k < len(sells) else count
        hit = _protective_exit(candles, signals, signal_at, start, sell_at) if protected else None
        if hit is not None:
            exit_at, level, reason = hit
            return exit_at, _protective_price(reason, level, opens[exit_at], slippage_bps), reason
        if sell_at + 1 >= count:
            return count - 1, to_decimal(candles.close[count - 1]), END_OF_DATA
        limit = _limit(signals, sell_at)
        if limit is None:
            price = fill_rules.market_fill_price(
                to_decimal(opens[sell_at + 1]), SELL_SIDE, slippage_bps
            )
            return sell_at + 1, price, "exit"
        span = limit.span(sell_at, count)
        hit = _limit_exit(candles, signals, signal_at, span, limit.price)
        if hit is not None:
            exit_at, reason = hit
            if reason == "exit":
                price = fill_rules.limit_fill_price(
                    SELL_SIDE, limit.price, to_decimal(opens[exit_at])
                )
            else:
                level = (
                    signals.stop[signal_at]
                    if reason == fill_rules.STOP_LOSS
                    else signals.take_profit[signal_at]
                )
                price = _protective_price(reason, level, opens[exit_at], slippage_bps)
            return exit_at, price, reason
        if span.stop >= count:
            return count - 1, to_decimal(candles.close[count - 1]), END_OF_DATA
        start = span.stop  # the exit limit expired when this candle opened


def _limit_exit(candles, signals, signal_at: int, span: slice, price: Decimal):
    """(candle, reason) of the first candle in `span` where the position's stop-loss
    ("stop_loss"), else its resting exit limit ("exit"), else its take-profit is touched."""
    high, low = candles.high[span], candles.low[span]
    stop, target = signals.stop[signal_at], signals.take_profit[signal_at]
    stops = fill_rules.stop_touched(SELL_SIDE, stop, high, low) if not math.isnan(stop) else None
    limits = fill_rules.limit_touched(SELL_SIDE, float(price), high, low)
    targets = (
        fill_rules.limit_touched(SELL_SIDE, target, high, low) if not math.isnan(target) else None
    )
    hits = limits.copy()
    for extra in (stops, targets):
        if extra is not None:
            hits |= extra
    if not hits.any():
        return None
    index = int(np.argmax(hits))
    if stops is not None and stops[index]:
        return span.start + index, fill_rules.STOP_LOSS
    return span.start + index, "exit" if limits[index] else fill_rules.TAKE_PROFIT


def _protective_exit(candles, signals, signal_at: int, start: int, sell_at: int):
    """(candle, level, reason) where the entry's stop-loss or take-profit is first touched,
    from `start` (the entry candle, or where an exit limit expired) to the candle of the
    next sell signal (whose exit comes after it); None if neither is."""
    stop, target = signals.stop[signal_at], signals.take_profit[signal_at]
    if math.isnan(stop) and math.isnan(target):
        return None
    span = slice(start, min(sell_at, len(candles) - 1) + 1)
    hit = fill_rules.first_protective_exit(
        candles.high[span], candles.low[span], stop=stop, take_profit=target
    )
    if hit is None:
        return None
    level = stop if hit.reason == fill_rules.STOP_LOSS else target
    return start + hit.index, level, hit.reason


def _protective_price(reason: str, level: float, open_price: float, slippage_bps) -> Decimal:
    level, open_price = to_decimal(level), to_decimal(open_price)
    if reason == fill_rules.STOP_LOSS:
        return fill_rules.stop_fill_price(SELL_SIDE, level, open_price, slippage_bps)
    return fill_rules.limit_fill_price(SELL_SIDE, level, open_price)


def _equity(closes: np.ndarray, capital: float, held, pnls) -> np.ndarray:
    """Equity at each close: cash, plus the position's value while one is held. The
    candles split into alternating stretches, flat [previous exit, entry) and held
    [entry, exit); each is a constant cash plus a constant quantity times the close."""
    count = len(closes)
    if not held:
        return np.full(count, capital)
    entries, exits, held_cash, quantity = (np.array(column) for column in zip(*held, strict=True))
    after = capital + np.cumsum(pnls)  # the cash after each exit
    bounds = np.empty(2 * len(held) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, count
    bounds[1:-1:2], bounds[2:-1:2] = entries, exits
    cash = np.empty(2 * len(held) + 1)
    cash[0::2] = np.r_[capital, after]
    cash[1::2] = held_cash
    units = np.zeros(2 * len(held) + 1)
    units[1::2] = quantity
    lengths = np.diff(bounds)
    return np.repeat(cash, lengths) + np.repeat(units, lengths) * closes
