"""Reading the stop-losses and take-profits the exchange holds for positions
(`protection` rows and their legs, which are `order` rows)."""

from sqlmodel import Session, col, select

from botdesk.db.models import LIVE_PROTECTION_STATUSES, Order, Protection


def live(*, session: Session, position_id: int) -> list[Protection]:
    """The position's protections not yet done with (to place, in doubt, or held), oldest
    first; some may be waiting for their cancel."""
    return list(
        session.exec(
            select(Protection)
            .where(
                Protection.position_id == position_id,
                col(Protection.status).in_(LIVE_PROTECTION_STATUSES),
            )
            .order_by(col(Protection.id))
        ).all()
    )


def held_at_exchange(*, session: Session, position_id: int) -> bool:
    """True while the exchange holds (or may hold) the position's stop or take-profit and
    no cancel of it was asked for: the exchange, not the engine, then sells at the level."""
    return any(not kept.cancel_requested for kept in live(session=session, position_id=position_id))


def legs(*, session: Session, protection_id: int) -> list[Order]:
    """The protection's orders on the exchange: the stop leg first, then the take-profit."""
    rows = session.exec(select(Order).where(Order.protection_id == protection_id)).all()
    return sorted(rows, key=lambda order: (order.type != "stop", order.id))


def count(*, session: Session, position_id: int) -> int:
    """How many protections the position has had (each gets the next number in its ids)."""
    return len(
        session.exec(select(Protection.id).where(Protection.position_id == position_id)).all()
    )


def newest_live(*, session: Session, position_ids: list[int]) -> dict[int, Protection]:
    """Each position's newest protection not yet done with (to place, in doubt, or held),
    by position id: what the exchange holds, or is about to, for it."""
    if not position_ids:
        return {}
    rows = session.exec(
        select(Protection)
        .where(
            col(Protection.position_id).in_(position_ids),
            col(Protection.status).in_(LIVE_PROTECTION_STATUSES),
        )
        .order_by(col(Protection.id))
    ).all()
    return {row.position_id: row for row in rows}  # the newest wins
