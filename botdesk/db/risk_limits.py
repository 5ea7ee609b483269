"""The risk-limit vocabulary and its rows: what each limit means, its unit, what values it
takes, and the one way to read and change them (used by the desk and the engine alike).

A limit is a `risk_limit` row: global (`bot_id` NULL) or for one bot. Each kind has a scope:
- "bot": the global row is the default for every bot; a bot's own row overrides it;
- "both": the global row limits all bots together (desk-wide: total exposure, open
  positions, today's loss) and a bot's own row limits that bot alone; both are enforced.
A disabled row counts as absent (a disabled bot row falls back to the global row).

`set_limit` and `disable_limit` validate and write the row with who and when; callers add
the `audit_log` row in the same transaction.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import Session, col, select

from botdesk.db import typed
from botdesk.db.models import Bot, RiskLimit
from botdesk.db.types import MONEY_PLACES, utcnow

BOT, BOTH = "bot", "both"
_CACHE = "botdesk.risk_limits"  # key of the per-transaction cache in session.info


class RiskLimitError(ValueError):
    """A limit that cannot be set as asked; the message says why."""


@dataclass(frozen=True)
class LimitKind:
    name: str
    title: str
    unit: str
    scope: str  # BOT or BOTH (see the module docstring)
    minimum: Decimal
    maximum: Decimal
    integer: bool
    default: Decimal | None  # seeded as a global row for the demo; None: not seeded
    meaning: str

    def parse(self, value) -> Decimal:
        """The value as a Decimal within this kind's range; RiskLimitError otherwise."""
        return typed.number(
            value,
            field=self.name,
            low=self.minimum,
            high=self.maximum,
            places=0 if self.integer else MONEY_PLACES,
            unit=self.unit,
            refuse=RiskLimitError,
        )


def _kind(name, title, unit, scope, minimum, maximum, default, meaning, integer=False):
    return LimitKind(
        name,
        title,
        unit,
        scope,
        Decimal(minimum),
        Decimal(maximum),
        integer,
        None if default is None else Decimal(default),
        meaning,
    )


_KINDS = [
    _kind(
        "risk_per_trade", "Risk per trade", "% of capital", BOT, "0.01", "100", "1",
        "An entry is sized so that being stopped out loses this share of the bot's "
        "capital (no stop: an assumed 5% stop distance, see docs/risk.md).",
    ),
    _kind(
        "max_position_notional", "Max position", "USDT", BOT, "1", "1000000000", "5000",
        "Most a bot may hold in one position, valued at the entry price.",
    ),
    _kind(
        "max_total_exposure", "Max exposure", "USDT", BOTH, "1", "1000000000", "50000",
        "Most held in open positions at market value: all bots together (global row) or "
        "one bot (bot row).",
    ),
    _kind(
        "max_open_positions", "Max open positions", "positions", BOTH, "0", "10000", "20",
        "Most open positions: all bots together (global row) or one bot (bot row).",
        integer=True,
    ),
    _kind(
        "daily_loss_limit", "Daily loss limit", "USDT", BOTH, "1", "1000000000", "1000",
        "Loss today (realized plus unrealized, since 00:00 UTC of market time) that pauses "
        "the bot (bot row) or every bot (global row); entries are refused beyond it.",
    ),
    _kind(
        "max_drawdown", "Max drawdown", "% from peak", BOT, "0.01", "100", "15",
        "Fall of the bot's equity from its peak that pauses it until a trader resumes it.",
    ),
    _kind(
        "cooldown_seconds", "Cooldown", "seconds", BOT, "0", "604800", "60",
        "Least market time between a bot's entry fill and its next entry.",
        integer=True,
    ),
    _kind(
        "max_orders_per_minute", "Max order rate", "entries per minute", BOT, "1", "10000", "10",
        "Most entry orders a bot may send in any 60 seconds (wall clock).",
        integer=True,
    ),
    _kind(
        "stale_data_intervals", "Stale-data guard", "candle intervals", BOT, "1", "1000", "2",
        "No entry on a candle older than this many intervals behind the newest candle "
        "stored for its symbol.",
        integer=True,
    ),
    _kind(
        "circuit_breaker_errors", "Circuit breaker", "consecutive errors", BOT, "1", "1000", "3",
        "This many consecutive broker errors or rejections of a bot's orders within the "
        "window halt the bot.",
        integer=True,
    ),
    _kind(
        "circuit_breaker_window_seconds", "Circuit-breaker window", "seconds", BOT, "1",
        "86400", "300", "The window the circuit breaker counts errors in (wall clock).",
        integer=True,
    ),
    _kind(
        "trailing_stop_percent", "Trailing stop", "% below the high", BOT, "0.01", "99", None,
        "A new position's stop follows its highest price at this distance.",
    ),
    _kind(
        "trailing_stop_atr", "Trailing stop (ATR)", "x ATR(14)", BOT, "0.1", "100", None,
        "A new position's stop follows its highest price at this many ATR(14).",
    ),
    _kind(
        "breakeven_after_percent", "Move to breakeven", "% gain", BOT, "0.01", "1000", None,
        "Once a position has gained this much, its stop moves up to the entry price.",
    ),
]  # fmt: skip

KINDS: dict[str, LimitKind] = {kind.name: kind for kind in _KINDS}


def plain(value: Decimal) -> Decimal:
    """The value without trailing zeros, as people write it (300, not 300.00000000)."""
    return Decimal(format(value.normalize(), "f"))


def kind_of(name: str) -> LimitKind:
    kind = KINDS.get((name or "").strip())
    if kind is None:
        raise RiskLimitError(f"unknown risk limit {name!r} (known: {', '.join(KINDS)})")
    return kind


def row(*, session: Session, kind: str, bot_id: int | None) -> RiskLimit | None:
    query = select(RiskLimit).where(RiskLimit.kind == kind)
    query = query.where(
        col(RiskLimit.bot_id).is_(None) if bot_id is None else RiskLimit.bot_id == bot_id
    )
    return session.exec(query).first()


def all_rows(*, session: Session) -> list[RiskLimit]:
    """Every limit row, global ones first, then by bot and kind."""
    rows = session.exec(select(RiskLimit)).all()
    order = list(KINDS)
    return sorted(
        rows,
        key=lambda r: (
            r.bot_id is not None,
            r.bot_id or 0,
            order.index(r.kind) if r.kind in KINDS else len(order),
        ),
    )


@dataclass(frozen=True)
class Limits:
    """The enabled limits that apply to one bot, read once: its own (with the global
    defaults for kinds of scope "bot") and the desk-wide ones."""

    own: dict[str, Decimal]
    desk: dict[str, Decimal]  # global rows of kinds with scope "both"

    def get(self, kind: str) -> Decimal | None:
        return self.own.get(kind)


def effective(*, session: Session, bot_id: int | None) -> Limits:
    """The limits for `bot_id`: a bot row overrides the global row of a "bot" kind; for a
    "both" kind the bot row is the bot's own limit and the global row the desk-wide one.

    Read once per transaction and bot (the engine asks several times per candle); a change
    made through this module in the same session forgets what was read."""
    cache = session.info.setdefault(_CACHE, {})
    if bot_id in cache:
        return cache[bot_id]
    scope = col(RiskLimit.bot_id).is_(None)
    if bot_id is not None:
        scope = scope | (RiskLimit.bot_id == bot_id)
    rows = session.exec(select(RiskLimit).where(col(RiskLimit.enabled).is_(True), scope)).all()
    cache[bot_id] = limits = _limits_of(rows)
    return limits


def effective_many(*, session: Session, bot_ids: list[int]) -> dict[int, Limits]:
    """`effective` for many bots with one query (the batched candle path); the answers
    are kept for the transaction as `effective` keeps its own."""
    cache = session.info.setdefault(_CACHE, {})
    wanted = [bot_id for bot_id in bot_ids if bot_id not in cache]
    if wanted:
        rows = session.exec(
            select(RiskLimit).where(
                col(RiskLimit.enabled).is_(True),
                col(RiskLimit.bot_id).is_(None) | col(RiskLimit.bot_id).in_(wanted),
            )
        ).all()
        shared = [row for row in rows if row.bot_id is None]
        own: dict[int, list[RiskLimit]] = {}
        for row in rows:
            if row.bot_id is not None:
                own.setdefault(row.bot_id, []).append(row)
        common = _limits_of(shared)  # the same for every bot without rows of its own
        for bot_id in wanted:
            cache[bot_id] = _limits_of(shared + own[bot_id]) if bot_id in own else common
    return {bot_id: cache[bot_id] for bot_id in bot_ids}


def _limits_of(rows: list[RiskLimit]) -> Limits:
    own: dict[str, Decimal] = {}
    desk: dict[str, Decimal] = {}
    for limit in sorted(rows, key=lambda r: r.bot_id is not None):  # global first
        kind = KINDS.get(limit.kind)
        if kind is None:
            continue
        value = plain(limit.value)
        if limit.bot_id is None and kind.scope == BOTH:
            desk[limit.kind] = value
        else:
            own[limit.kind] = value
    return Limits(own=own, desk=desk)


def set_limit(
    *, session: Session, kind: str, value, bot_id: int | None, by: str, enabled: bool = True
) -> RiskLimit:
    """Create or change a limit (validated); returns the row. The caller audits it."""
    limit_kind = kind_of(kind)
    number = limit_kind.parse(value)
    if bot_id is not None and session.get(Bot, bot_id) is None:
        raise RiskLimitError(f"there is no bot {bot_id}")
    existing = row(session=session, kind=limit_kind.name, bot_id=bot_id)
    if existing is None:
        existing = RiskLimit(bot_id=bot_id, kind=limit_kind.name, value=number)
    existing.value = number
    existing.enabled = enabled
    existing.updated_by = by
    session.info.pop(_CACHE, None)
    existing.updated_at = utcnow()
    session.add(existing)
    session.flush()
    return existing


def disable_limit(*, session: Session, kind: str, bot_id: int | None, by: str) -> RiskLimit:
    """Turn a limit off (the row stays, with who and when). The caller audits it."""
    limit_kind = kind_of(kind)
    existing = row(session=session, kind=limit_kind.name, bot_id=bot_id)
    if existing is None:
        where = "globally" if bot_id is None else f"for bot {bot_id}"
        raise RiskLimitError(f"{limit_kind.name} is not set {where}")
    existing.enabled = False
    existing.updated_by = by
    session.info.pop(_CACHE, None)
    existing.updated_at = utcnow()
    session.add(existing)
    session.flush()
    return existing


def seed_defaults(*, session: Session, by: str = "botdesk init") -> list[str]:
    """The demo's global limits, for every kind with a default not set yet; returns them."""
    created = []
    for kind in _KINDS:
        if kind.default is None or row(session=session, kind=kind.name, bot_id=None):
            continue
        session.add(RiskLimit(bot_id=None, kind=kind.name, value=kind.default, updated_by=by))
        created.append(kind.name)
    session.info.pop(_CACHE, None)
    session.flush()
    return created
