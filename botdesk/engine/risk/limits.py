"""The limits an entry (a buy) must pass, each refusing with the rule and a reason a trader
can act on. Exits never come here. Limits are those of `botdesk.db.risk_limits.effective`
(a bot row overrides the global default; desk-wide rows limit all bots together).

In a candle batch the desk-wide figures and the bot's day baseline and drawdown peak come
from the batch (`botdesk.engine.risk.desk`), read once for all its bots; only the bot's
own exposure and open positions are read here, as they stand at the check.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from botdesk.db import candles as candle_store
from botdesk.db import risk_limits
from botdesk.db.models import BotState
from botdesk.db.types import quantize
from botdesk.engine.accounts import account
from botdesk.engine.ledger import open_position
from botdesk.engine.risk import measures
from botdesk.engine.risk.context import RiskContext, RiskDecision
from botdesk.engine.risk.desk import DeskNow, for_bot
from botdesk.engine.timeframes import timeframe_ms


def check_entry(context: RiskContext) -> RiskDecision:
    bot = context.bot
    if bot.desired_state == BotState.PAUSED or bot.status in (BotState.PAUSED, BotState.HALTED):
        why = f" ({bot.status_reason})" if bot.status_reason else ""
        return RiskDecision.refuse("bot_state", f"{bot.name} is {bot.status}: no entry{why}")
    limits = risk_limits.effective(session=context.session, bot_id=bot.id)
    checking = _Checking(context)
    for check in _CHECKS:
        decision = check(checking, limits)
        if decision is not None:
            return decision
    return RiskDecision.allow()


class _Checking:
    """The context of one entry check, and what it measures, each read at most once: from
    the batch's figures when the check runs in a candle batch, else from the database."""

    def __init__(self, context: RiskContext):
        self.context = context
        self.session, self.bot = context.session, context.bot
        self.figures = for_bot(context.session, context.bot.id)
        self._read: dict[str, object] = {}

    def _once(self, name: str, read):
        if name not in self._read:
            self._read[name] = read()
        return self._read[name]

    def exposure(self, bot_id: int | None) -> Decimal:
        if bot_id is None and self.figures is not None:
            return self.desk().exposure
        held = self.context.open_positions
        if bot_id == self.bot.id and held is not None:
            return measures.exposure_of(held)
        return self._once(
            f"exposure {bot_id}", lambda: measures.exposure(session=self.session, bot_id=bot_id)
        )

    def open_positions(self, bot_id: int | None) -> int:
        if bot_id is None and self.figures is not None:
            return self.desk().open_positions
        held = self.context.open_positions
        if bot_id == self.bot.id and held is not None:
            return len(held)
        return self._once(
            f"open {bot_id}", lambda: measures.open_positions(session=self.session, bot_id=bot_id)
        )

    def holds(self, symbol: str) -> bool:
        """The bot has an open position in `symbol`."""
        held = self.context.open_positions
        if held is not None:
            return any(position.symbol == symbol for position in held)
        return open_position(session=self.session, bot_id=self.bot.id, symbol=symbol) is not None

    def equity(self) -> Decimal:
        if self.context.equity is not None:
            return self.context.equity
        return self._once("equity", lambda: account(session=self.session, bot=self.bot).equity)

    def desk(self) -> DeskNow:
        return self._once(
            "desk",
            lambda: self.figures.now(
                exposure=self.exposure(self.bot.id),
                open_positions=self.open_positions(self.bot.id),
                equity=self.equity(),
            ),
        )

    def bot_daily_pnl(self) -> Decimal:
        at = self.context.market_at
        if self.figures is None:
            return measures.bot_daily_pnl(session=self.session, bot=self.bot, at=at)
        return self.equity() - self.figures.current.baseline

    def desk_daily_pnl(self) -> Decimal:
        if self.figures is not None and self.figures.daily_pnl is not None:
            return self.desk().daily_pnl
        return measures.desk_daily_pnl(session=self.session, at=self.context.market_at)

    def last_entry_fill_at(self) -> datetime | None:
        if self.figures is not None and self.figures.current.entries is not None:
            return self.figures.current.entries.last_fill_at
        return measures.last_entry_fill_at(session=self.session, bot_id=self.bot.id)

    def entries_in_last_minute(self) -> int:
        if self.figures is not None and self.figures.current.entries is not None:
            return self.figures.current.entries.in_last_minute()
        return measures.entries_in_last_minute(session=self.session, bot_id=self.bot.id)

    def drawdown(self) -> tuple[Decimal, Decimal, Decimal]:
        if self.figures is None:
            return measures.drawdown_percent(session=self.session, bot=self.bot)
        return measures.drawdown_percent(
            session=self.session,
            bot=self.bot,
            equity=self.equity(),
            peak=self.figures.current.peak,
        )


def _notional(context: RiskContext) -> Decimal:
    return quantize(context.quantity * context.price)


def _position_size(checking: _Checking, limits) -> RiskDecision | None:
    context = checking.context
    limit = limits.get("max_position_notional")
    if limit is None:
        return None
    after = quantize((context.position_quantity + context.quantity) * context.price)
    if after > limit:
        return RiskDecision.refuse(
            "max_position_notional",
            f"the {context.symbol} position would be worth {after:.2f} USDT, above the "
            f"max position of {limit} USDT",
        )
    return None


def _exposure(checking: _Checking, limits) -> RiskDecision | None:
    context = checking.context
    notional = _notional(context)
    for where, limit, bot_id in (
        ("the bot's", limits.get("max_total_exposure"), context.bot.id),
        ("the desk's", limits.desk.get("max_total_exposure"), None),
    ):
        if limit is None:
            continue
        after = checking.exposure(bot_id) + notional
        if after > limit:
            return RiskDecision.refuse(
                "max_total_exposure",
                f"{where} exposure would reach {after:.2f} USDT, above its limit of {limit} USDT",
            )
    return None


def _open_positions(checking: _Checking, limits) -> RiskDecision | None:
    context = checking.context
    bot = context.bot
    if checking.holds(context.symbol):
        return None  # adds to a position: opens no new one
    for where, limit, bot_id in (
        ("the bot", limits.get("max_open_positions"), bot.id),
        ("the desk", limits.desk.get("max_open_positions"), None),
    ):
        if limit is None:
            continue
        count = checking.open_positions(bot_id)
        if count + 1 > limit:
            return RiskDecision.refuse(
                "max_open_positions",
                f"{where} already holds {count} open position(s); the limit is {limit}",
            )
    return None


def _daily_loss(checking: _Checking, limits) -> RiskDecision | None:
    bot = checking.bot
    own, desk = limits.get("daily_loss_limit"), limits.desk.get("daily_loss_limit")
    if own is not None:
        pnl = checking.bot_daily_pnl()
        if pnl <= -own:
            return RiskDecision.refuse(
                "daily_loss_limit",
                f"{bot.name} is down {-pnl:.2f} USDT today (UTC), at or beyond its daily loss "
                f"limit of {own} USDT",
            )
    if desk is not None:
        pnl = checking.desk_daily_pnl()
        if pnl <= -desk:
            return RiskDecision.refuse(
                "daily_loss_limit",
                f"the desk is down {-pnl:.2f} USDT today (UTC), at or beyond the global daily "
                f"loss limit of {desk} USDT",
            )
    return None


def _drawdown(checking: _Checking, limits) -> RiskDecision | None:
    limit = limits.get("max_drawdown")
    if limit is None:
        return None
    drawdown, peak, equity = checking.drawdown()
    if drawdown >= limit:
        return RiskDecision.refuse(
            "max_drawdown",
            f"equity {equity:.2f} is {drawdown:.2f}% below its peak of {peak:.2f}, at or "
            f"beyond the max drawdown of {limit}%",
        )
    return None


def _cooldown(checking: _Checking, limits) -> RiskDecision | None:
    context = checking.context
    limit = limits.get("cooldown_seconds")
    if not limit or context.market_at is None:
        return None
    last = checking.last_entry_fill_at()
    if last is None:
        return None
    waited = (context.market_at - last).total_seconds()
    if waited < limit:
        return RiskDecision.refuse(
            "cooldown_seconds",
            f"the last entry filled {waited:.0f} s ago; the cooldown between entries is {limit} s",
        )
    return None


def _order_rate(checking: _Checking, limits) -> RiskDecision | None:
    limit = limits.get("max_orders_per_minute")
    if limit is None:
        return None
    sent = checking.entries_in_last_minute()
    if sent + 1 > limit:
        return RiskDecision.refuse(
            "max_orders_per_minute",
            f"{sent} entries in the last minute; the limit is {limit} a minute",
        )
    return None


def _stale_data(checking: _Checking, limits) -> RiskDecision | None:
    context = checking.context
    limit = limits.get("stale_data_intervals")
    if limit is None or context.candle_open_ms is None:
        return None
    bot = context.bot
    newest = candle_store.latest_open_ms(
        session=context.session, symbol=context.symbol, timeframe=bot.timeframe
    )
    if newest is None:
        return None
    behind = (newest - context.candle_open_ms) / timeframe_ms(bot.timeframe)
    if behind >= limit:
        age = timedelta(milliseconds=newest - context.candle_open_ms)
        return RiskDecision.refuse(
            "stale_data_intervals",
            f"the order was decided on a candle {age} ({behind:g} intervals) older than the "
            f"newest {context.symbol} {bot.timeframe} candle; the guard allows less than "
            f"{limit}",
        )
    return None


_CHECKS = (
    _position_size,
    _exposure,
    _open_positions,
    _daily_loss,
    _drawdown,
    _cooldown,
    _order_rate,
    _stale_data,
)
