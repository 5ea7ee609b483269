"""The backtest: the strategy's own `signals` method over the whole history, traded with
the paper broker's fill rules (`botdesk.engine.fill_rules`), sizing
(`botdesk.engine.sizing`) and ledger arithmetic (`botdesk.engine.ledger.Book`).

It walks from trade to trade, not from candle to candle: numpy finds the next buy
signal, the next sell signal and the first candle touching the stop or take-profit, so
the cost grows with the number of trades. The order of events is the live engine's:
a buy signal on candle s fills at the open of s+1 (sized on the cash and the close of s,
refused if the cash does not cover it at the fill); from the entry candle on, a stop or
take-profit touched inside a candle exits there (stop first); a sell signal on candle x
exits at the open of x+1; buy signals while in a position are ignored; a position still
open after the last candle is closed at its close ("end_of_data").
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from botdesk.db.models import Side
from botdesk.db.types import quantize
from botdesk.engine import fill_rules
from botdesk.engine.frames import BUY, SELL, CandleFrame, SignalFrame, to_decimal
from botdesk.engine.ledger import Book, cash_change
from botdesk.engine.sizing import entry_quantity

END_OF_DATA = "end_of_data"


@dataclass(frozen=True)
class Trade:
    entry_ms: int
    entry_price: Decimal
    exit_ms: int
    exit_price: Decimal
    quantity: Decimal
    fees: Decimal
    pnl: Decimal  # net of both fees
    exit_reason: str  # exit | stop_loss | take_profit | end_of_data
    entry_index: int
    exit_index: int

    def as_dict(self) -> dict:
        return {
            "entry_time_ms": self.entry_ms,
            "entry_price": str(self.entry_price),
            "exit_time_ms": self.exit_ms,
            "exit_price": str(self.exit_price),
            "quantity": str(self.quantity),
            "fees": str(self.fees),
            "pnl": str(self.pnl),
            "return": float(self.pnl / (self.entry_price * self.quantity)),
            "exit_reason": self.exit_reason,
        }


@dataclass(frozen=True)
class Simulation:
    trades: list[Trade]
    equity: np.ndarray  # at each candle's close (float, for metrics and charts)
    final_equity: Decimal  # exact
    fees: Decimal
    refused: int  # buy signals the cash could not cover


def simulate(
    candles: CandleFrame,
    signals: SignalFrame,
    *,
    fee_rate: Decimal,
    slippage_bps: Decimal,
    capital: Decimal,
    progress: Callable[[float], None] | None = None,
) -> Simulation:
    count = len(candles)
    buys = np.flatnonzero(signals.side == BUY)
    sells = np.flatnonzero(signals.side == SELL)
    cash, fees = Decimal(capital), Decimal(0)
    equity = np.full(count, float(capital))
    trades: list[Trade] = []
    refused = 0
    start = 0
    while True:
        k = int(np.searchsorted(buys, start))
        if k >= len(buys) or buys[k] + 1 >= count:
            break
        signal_at = int(buys[k])
        entry_at = signal_at + 1
        quantity = entry_quantity(
            cash, to_decimal(candles.close[signal_at]), fee_rate=fee_rate, slippage_bps=slippage_bps
        )
        entry_price = fill_rules.market_fill_price(
            to_decimal(candles.open[entry_at]), Side.BUY, slippage_bps
        )
        entry_fee = fill_rules.fee_for(quantize(quantity * entry_price), fee_rate)
        if quantity <= 0 or quantize(quantity * entry_price) + entry_fee > cash:
            refused += 1
            start = entry_at  # the live bot would have had its order refused
            continue
        book = Book()
        book.apply(side=Side.BUY, quantity=quantity, price=entry_price, fee=entry_fee)
        cash += cash_change(Side.BUY, quantity, entry_price, entry_fee)
        exit_at, exit_price, reason, exit_ms = _exit(
            candles, signals, sells, signal_at, entry_at, slippage_bps
        )
        exit_fee = fill_rules.fee_for(quantize(quantity * exit_price), fee_rate)
        book.apply(side=Side.SELL, quantity=quantity, price=exit_price, fee=exit_fee)
        held_cash = float(cash)
        cash += cash_change(Side.SELL, quantity, exit_price, exit_fee)
        fees += entry_fee + exit_fee
        holding = slice(entry_at, exit_at)
        equity[holding] = held_cash + float(quantity) * candles.close[holding]
        equity[exit_at:] = float(cash)
        trades.append(
            Trade(
                entry_ms=int(candles.open_time_ms[entry_at]),
                entry_price=entry_price,
                exit_ms=exit_ms,
                exit_price=exit_price,
                quantity=quantity,
                fees=entry_fee + exit_fee,
                pnl=book.realized_pnl,
                exit_reason=reason,
                entry_index=entry_at,
                exit_index=exit_at,
            )
        )
        if progress is not None and len(trades) % 50 == 0:
            progress(exit_at / count)
        if reason == END_OF_DATA:
            break
        start = exit_at
    return Simulation(trades, equity, cash, fees, refused)


def _exit(candles, signals, sells, signal_at, entry_at, slippage_bps):
    """(candle, price, reason, fill time) of the exit of a trade entered at entry_at. The
    position is held through the closes before that candle; from its close on it is cash."""
    count = len(candles)
    k = int(np.searchsorted(sells, entry_at))
    sell_at = int(sells[k]) if k < len(sells) else None
    last = sell_at if sell_at is not None else count - 1
    stop, target = signals.stop[signal_at], signals.take_profit[signal_at]
    span = slice(entry_at, last + 1)
    hit = fill_rules.first_protective_exit(
        candles.high[span], candles.low[span], stop=stop, take_profit=target
    )
    if hit is not None:
        at = entry_at + hit.index
        open_price = to_decimal(candles.open[at])
        if hit.reason == fill_rules.STOP_LOSS:
            price = fill_rules.stop_fill_price(
                Side.SELL, to_decimal(stop), open_price, slippage_bps
            )
        else:
            price = fill_rules.limit_fill_price(Side.SELL, to_decimal(target), open_price)
        return at, price, hit.reason, int(candles.open_time_ms[at]) + _step(candles)
    if sell_at is not None and sell_at + 1 < count:
        at = sell_at + 1
        price = fill_rules.market_fill_price(to_decimal(candles.open[at]), Side.SELL, slippage_bps)
        return at, price, "exit", int(candles.open_time_ms[at])
    close = to_decimal(candles.close[count - 1])
    return count - 1, close, END_OF_DATA, int(candles.open_time_ms[count - 1]) + _step(candles)


def _step(candles: CandleFrame) -> int:
    """The candle length (the most common step), for close times."""
    if len(candles) < 2:
        return 60_000
    steps = np.diff(candles.open_time_ms[: min(len(candles), 1000)])
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])
