"""How a backtest sizes its entries: as a live bot does under the desk's risk limits
("risk": `risk_per_trade` of the capital at stake, capped by `max_position_notional` and
the cash, the rule of `botdesk.engine.sizing`), or with all the cash ("all-cash").

A run keeps the limits it was sized with (read from the desk when it was created), so it
can be read and re-run later with the same sizing whatever the limits have become.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session

from botdesk.db.backtest_runs import ALL_CASH, RISK, SIZINGS, sizing_limits, sizing_text
from botdesk.engine.sizing import ZERO, limited_quantity

__all__ = ["ALL_CASH", "ALL_CASH_SIZING", "RISK", "SIZINGS", "Sizing", "SizingError", "desk_sizing"]


class SizingError(ValueError):
    """A sizing that cannot be used; the message says why."""


@dataclass(frozen=True)
class Sizing:
    mode: str = ALL_CASH
    risk_per_trade: Decimal | None = None  # % of the capital lost at the stop
    max_position_notional: Decimal | None = None  # in quote, valued at the entry

    def __post_init__(self) -> None:
        if self.mode not in SIZINGS:
            raise SizingError(f"sizing {self.mode!r} is not one of {', '.join(SIZINGS)}")
        if self.mode == ALL_CASH and (self.risk_per_trade or self.max_position_notional):
            raise SizingError("all-cash sizing takes no risk limits")

    def quantity(
        self,
        *,
        price: Decimal,
        stop: Decimal | None,
        cash: Decimal,
        capital: Decimal,
        fee_rate: Decimal,
        slippage_bps: Decimal,
    ) -> Decimal:
        """The entry's quantity, exactly as a live bot with these limits, this capital and
        this cash would size it (a backtest holds one position at a time)."""
        return limited_quantity(
            price=price,
            stop=stop,
            cash=cash,
            capital=capital,
            position_quantity=ZERO,
            risk_per_trade=self.risk_per_trade,
            max_position_notional=self.max_position_notional,
            fee_rate=fee_rate,
            slippage_bps=slippage_bps,
        )

    def describe(self, quote: str = "USDT") -> str:
        return sizing_text(self.mode, self.risk_per_trade, self.max_position_notional, quote)


ALL_CASH_SIZING = Sizing(ALL_CASH)


def desk_sizing(*, session: Session, mode: str = RISK) -> Sizing:
    """`mode` with the desk's current limits for every bot (the global rows), as a live bot
    without limits of its own would be sized now."""
    if mode not in SIZINGS:
        raise SizingError(f"sizing {mode!r} is not one of {', '.join(SIZINGS)}")
    return Sizing(mode, *sizing_limits(session=session, sizing=mode))
