"""The commands grid (Bots page): each command, what the engine made of it, and its
target as people read it: "bot btc-fast", "position btc-fast BTCUSDT", not the stored
"bot:9" / "position:25" (which scripts and the API keep using)."""

from sqlmodel import Session, col, select

from botdesk.app.grid import RECORDED_CLOCK, DeskGrid, GridColumn
from botdesk.db.models import Bot, Command, Position


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


def _named_targets(session: Session, found: list[Command], shown: list[dict]) -> None:
    names = named(session=session, targets=[row.target for row in found])
    for row, cells in zip(found, shown, strict=True):
        cells["target"] = names.get(row.target, row.target or "")


COMMANDS = DeskGrid(
    "bots-commands",
    "command",
    [
        GridColumn("created_at", "Issued", "time", unit=RECORDED_CLOCK, width=190),
        GridColumn("kind", "Command", "choice", width=160),
        GridColumn("target", "Target", width=200),
        GridColumn("issued_by", "By", width=120),
        GridColumn("status", "Status", "choice", width=105),
        GridColumn("result", "Result"),
    ],
    empty="No command yet. Start, pause or stop a bot and follow it here.",
    height=260,
    refresh_ms=1500,
    derive=_named_targets,
)
