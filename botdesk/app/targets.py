"""A command's target as people read it: "bot btc-fast", "position btc-fast BTCUSDT",
not the stored "bot:9" / "position:25" (which scripts and the API keep using)."""

from sqlmodel import Session, col, select

from botdesk.db.models import Bot, Position


def _ids(targets: list[str], kind: str) -> set[int]:
    found = set()
    for target in targets:
        prefix, _, number = (target or "").partition(":")
        if prefix == kind and number.isdigit():
            found.add(int(number))
    return found


def named(*, session: Session, targets: list[str]) -> dict[str, str]:
    """Each stored target (bot:<id>, position:<id>, backtest_run:<id>, ...) by its name;
    a target whose row is gone keeps its stored form."""
    positions = {
        row.id: row
        for row in session.exec(
            select(Position).where(col(Position.id).in_(_ids(targets, "position")))
        )
    }
    bot_ids = _ids(targets, "bot") | {p.bot_id for p in positions.values()}
    bots = dict(session.exec(select(Bot.id, Bot.name).where(col(Bot.id).in_(bot_ids))).all())
    names = {}
    for target in targets:
        prefix, _, number = (target or "").partition(":")
        key = int(number) if number.isdigit() else None
        if prefix == "bot" and key in bots:
            names[target] = f"bot {bots[key]}"
        elif prefix == "position" and key in positions:
            held = positions[key]
            names[target] = f"position {bots.get(held.bot_id, held.bot_id)} {held.symbol}"
        elif prefix == "backtest_run" and key is not None:
            names[target] = f"backtest #{key}"
        elif prefix == "signal" and key is not None:
            names[target] = f"signal #{key}"
    return names
