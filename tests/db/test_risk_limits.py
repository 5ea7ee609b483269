"""The risk-limit vocabulary: validation, global defaults overridden per bot, desk-wide
limits kept apart, disabling, seeding."""

from decimal import Decimal

import pytest
from sqlmodel import select

from botdesk.db import risk_limits
from botdesk.db.models import RiskLimit
from botdesk.db.risk_limits import KINDS, RiskLimitError
from tests.factories import make_bot

D = Decimal


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("risk_per_trade", "0", "between 0.01 and 100"),
        ("risk_per_trade", "101", "between 0.01 and 100"),
        ("risk_per_trade", "abc", "is not a number"),
        ("risk_per_trade", "NaN", "is not a number"),
        ("max_open_positions", "2.5", "whole number"),
        ("max_position_notional", "1.000000001", "at most 8 decimals"),
        ("max_total_exposure", "1e40", "between 1 and 1000000000 USDT, not 1e40"),
        ("daily_loss_limit", "1e-40", "between 1 and 1000000000"),
        ("risk_per_trade", "0.1" + "0" * 60 + "1", "at most 8 decimals"),
        ("cooldown_seconds", "-1", "between 0 and"),
        ("no_such_limit", "1", "unknown risk limit"),
    ],
)
def test_bad_values_are_refused_and_change_nothing(db, kind, value, message):
    with pytest.raises(RiskLimitError, match=message), db.writing() as session:
        risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="ann")
    with db.reading() as session:
        assert session.exec(select(RiskLimit)).all() == []


def test_a_bot_row_overrides_the_global_default_and_desk_limits_stay_apart(db):
    bot, other = make_bot(db), make_bot(db)
    with db.writing() as session:
        for kind, value in (("risk_per_trade", "1"), ("max_open_positions", "5")):
            risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="ann")
        risk_limits.set_limit(
            session=session, kind="risk_per_trade", value="2.5", bot_id=bot.id, by="ann"
        )
        risk_limits.set_limit(
            session=session, kind="max_open_positions", value="1", bot_id=bot.id, by="ann"
        )
    with db.reading() as session:
        mine = risk_limits.effective(session=session, bot_id=bot.id)
        theirs = risk_limits.effective(session=session, bot_id=other.id)
    assert mine.get("risk_per_trade") == D("2.5")
    assert theirs.get("risk_per_trade") == D("1")
    # max_open_positions has both scopes: the global row is the desk's, not a default
    assert mine.get("max_open_positions") == D("1")
    assert theirs.get("max_open_positions") is None
    assert mine.desk["max_open_positions"] == theirs.desk["max_open_positions"] == D("5")


def test_disabling_falls_back_to_the_global_row_and_keeps_who_and_when(db):
    bot = make_bot(db)
    with db.writing() as session:
        risk_limits.set_limit(session=session, kind="max_drawdown", value="20", bot_id=None, by="a")
        risk_limits.set_limit(
            session=session, kind="max_drawdown", value="5", bot_id=bot.id, by="a"
        )
        row = risk_limits.disable_limit(
            session=session, kind="max_drawdown", bot_id=bot.id, by="bea"
        )
        assert (row.enabled, row.updated_by) == (False, "bea")
    with db.reading() as session:
        assert risk_limits.effective(session=session, bot_id=bot.id).get("max_drawdown") == 20
    with pytest.raises(RiskLimitError, match="not set for bot"), db.writing() as session:
        risk_limits.disable_limit(session=session, kind="cooldown_seconds", bot_id=bot.id, by="a")
    with pytest.raises(RiskLimitError, match="there is no bot 999"), db.writing() as session:
        risk_limits.set_limit(session=session, kind="max_drawdown", value="5", bot_id=999, by="a")


def test_seeding_sets_every_default_once(db):
    with db.writing() as session:
        first = risk_limits.seed_defaults(session=session)
    with db.writing() as session:
        again = risk_limits.seed_defaults(session=session)
    assert set(first) == {name for name, kind in KINDS.items() if kind.default is not None}
    assert again == []
    with db.reading() as session:
        assert risk_limits.effective(session=session, bot_id=None).desk["daily_loss_limit"] == 1000
