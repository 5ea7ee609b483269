"""Backtest runs as the desk sees them: queue one for the engine, list them, read one.

Queuing writes the `backtest_run` row, the `backtest.run` command that asks the engine to
run it, and the command's audit row in one transaction; the engine's handler then moves
the row through running (with its progress) to done or failed.

A run is sized "risk" (as a live bot: the desk's global `risk_per_trade` and
`max_position_notional`, read and stored with the run when it is queued) or "all-cash".
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, func, select

from botdesk.db import commands, risk_limits
from botdesk.db.models import BacktestRun, Candle, Command
from botdesk.db.types import utcnow

KIND = "backtest.run"
RISK, ALL_CASH = "risk", "all-cash"
SIZINGS = {
    RISK: "As a live bot (the desk's risk limits)",
    ALL_CASH: "All the cash on each entry",
}
SIZED_BY = ("risk_per_trade", "max_position_notional")


def sizing_text(
    sizing: str,
    risk_per_trade: Decimal | None,
    max_position_notional: Decimal | None,
    quote: str = "USDT",
) -> str:
    """How a run sized its entries, in words."""
    if sizing == ALL_CASH:
        return "all cash: each entry spends the cash (less a 0.5 % buffer)"
    parts = []
    if risk_per_trade is not None:
        parts.append(f"{risk_limits.plain(risk_per_trade):f} % of capital at risk per trade")
    if max_position_notional is not None:
        parts.append(f"positions up to {risk_limits.plain(max_position_notional):f} {quote}")
    if not parts:
        return "risk: as a live bot; no risk limit was set, so each entry spends the cash"
    return f"risk: as a live bot, {', '.join(parts)}, within the cash"


def sizing_limits(*, session: Session, sizing: str) -> tuple[Decimal | None, Decimal | None]:
    """(risk_per_trade, max_position_notional) a run sized `sizing` uses: for "risk" the
    desk's limits for every bot now (None where unset or disabled), for "all-cash" none."""
    if sizing not in SIZINGS:
        raise ValueError(f"sizing {sizing!r} is not one of {', '.join(SIZINGS)}")
    if sizing == ALL_CASH:
        return None, None
    limits = risk_limits.effective(session=session, bot_id=None)
    return limits.get(SIZED_BY[0]), limits.get(SIZED_BY[1])


@dataclass(frozen=True)
class Trade:
    entry_time_ms: int
    entry_price: Decimal
    exit_time_ms: int | None
    exit_price: Decimal | None
    quantity: Decimal
    fees: Decimal
    pnl: Decimal
    exit_reason: str | None


def queue(
    *,
    session: Session,
    strategy: str,
    params: dict,
    symbol: str,
    timeframe: str,
    data_source: str,
    from_ms: int | None,
    to_ms: int | None,
    fee_rate: Decimal,
    slippage_bps: Decimal,
    capital: Decimal,
    issued_by: str,
    sizing: str = RISK,
    user_id: int | None = None,
    ip: str | None = None,
    limits: tuple[Decimal | None, Decimal | None] | None = None,
) -> tuple[BacktestRun, Command]:
    """`limits`: (risk_per_trade, max_position_notional) to size with, e.g. an
    optimisation's own; default: the desk's now (`sizing_limits`)."""
    if limits is None:
        limits = sizing_limits(session=session, sizing=sizing)
    risk_per_trade, max_position_notional = limits
    run = BacktestRun(
        created_by=issued_by,
        strategy=strategy,
        params=json.dumps(params, sort_keys=True),
        symbol=symbol,
        timeframe=timeframe,
        data_source=data_source,
        from_ms=from_ms,
        to_ms=to_ms,
        fee_rate=fee_rate,
        slippage_bps=slippage_bps,
        initial_capital=capital,
        sizing=sizing,
        risk_per_trade=risk_per_trade,
        max_position_notional=max_position_notional,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    command = commands.issue(
        session=session,
        kind=KIND,
        target=f"backtest_run:{run.id}",
        params={
            "strategy": strategy,
            "symbol": symbol,
            "timeframe": timeframe,
            "sizing": sizing,
        },
        issued_by=issued_by,
        user_id=user_id,
        ip=ip,
    )
    return run, command


def recent(*, session: Session, limit: int = 50) -> list[BacktestRun]:
    query = select(BacktestRun).order_by(col(BacktestRun.id).desc()).limit(limit)
    return list(session.exec(query))


def by_ids(*, session: Session, ids: list[int]) -> list[BacktestRun]:
    """The runs with these ids, in the order asked (unknown ids left out)."""
    rows = {
        run.id: run for run in session.exec(select(BacktestRun).where(col(BacktestRun.id).in_(ids)))
    }
    return [rows[run_id] for run_id in ids if run_id in rows]


def command_for(*, session: Session, run_id: int) -> Command | None:
    query = (
        select(Command)
        .where(Command.kind == KIND, Command.target == f"backtest_run:{run_id}")
        .order_by(col(Command.id).desc())
    )
    return session.exec(query).first()


def trades_of(run: BacktestRun) -> list[Trade]:
    return [
        Trade(
            entry_time_ms=int(item["entry_time_ms"]),
            entry_price=Decimal(item["entry_price"]),
            exit_time_ms=item.get("exit_time_ms"),
            exit_price=Decimal(item["exit_price"]) if item.get("exit_price") else None,
            quantity=Decimal(item["quantity"]),
            fees=Decimal(item["fees"]),
            pnl=Decimal(item["pnl"]),
            exit_reason=item.get("exit_reason"),
        )
        for item in json.loads(run.trade_list or "[]")
    ]


def curve_of(run: BacktestRun) -> list[tuple[int, float]]:
    return [(int(ms), float(equity)) for ms, equity in json.loads(run.equity_curve or "[]")]


def stored_span(*, session: Session, symbol: str) -> tuple[int, int] | None:
    """First and last open time of the symbol's stored 1m candles, None if it has none."""
    query = select(func.min(Candle.open_time_ms), func.max(Candle.open_time_ms)).where(
        Candle.symbol == symbol, Candle.timeframe == "1m"
    )
    first, last = session.exec(query).one()
    return None if first is None else (int(first), int(last))
