"""The Models page on a real desk: an admin reads a version's out-of-sample report beside
the baselines, promotes it and rolls it back, each audited with the reason; what is not
allowed is refused and changes nothing."""

import pytest
from sqlmodel import select

from botdesk.db.models import MlModel
from botdesk.ml.labels import LabelSpec
from botdesk.ml.runs import TrainRequest, train
from botdesk.ml.training import TrainSettings
from tests.conftest import SHARED_DATA
from tests.desk import call_registered, click, dependencies, first_output
from tests.rows import audit_trail

pytestmark = pytest.mark.integration

BTC_1H = SHARED_DATA / "BTCUSDT-1h.csv"


@pytest.fixture(scope="module")
def models(desk):
    if not BTC_1H.exists():
        pytest.skip("../shared/data is absent")
    made = []
    for label in ("forward:horizon=12,threshold=0.01", "triple_barrier:horizon=12"):
        request = TrainRequest(
            symbol="BTCUSDT",
            timeframe="1h",
            data_source=str(BTC_1H),
            label=LabelSpec.parse(label),
            from_ms=1_640_995_200_000,
            to_ms=1_648_771_200_000,
            settings=TrainSettings(folds=2, rounds=20),
        )
        made.append(train(request, db=desk.db, created_by="cli:test").model.id)
    return made


@pytest.fixture(scope="module")
def admin(desk):
    return desk.signed_in("model-admin", "admin")


def _statuses(desk) -> dict[int, str]:
    with desk.db.reading() as session:
        return {m.id: m.status for m in session.exec(select(MlModel)).all()}


def _act(desk, client, button, version, reason=""):
    values = {"models-version.value": str(version), "models-reason.value": reason}
    return click(client, desk.base, button, values)


def test_the_page_lists_every_version_and_shows_a_report(desk, admin, models):
    page = admin.get(f"{desk.base}/models", timeout=30)
    assert page.status_code == 200
    detail = next(
        dep
        for dep in dependencies(admin, desk.base)
        if first_output(dep["output"]) == "models-detail.children"
    )
    shown = call_registered(admin, desk.base, detail, {"models-version.value": str(models[0])})
    text = shown.text
    assert shown.status_code == 200
    assert f"Model {models[0]}: BTCUSDT 1h" in text
    for name in ("always_hold", "buy_and_hold", "ema_cross", "Feature importance"):
        assert name in text
    assert "against" in text and "for always the most frequent class" in text


def test_an_admin_promotes_and_rolls_back_with_reasons_audited(desk, admin, models):
    first, second = models
    response = _act(desk, admin, "models-promote", first, "validated")
    assert f"Model {first} is now the champion of BTCUSDT 1h." in response.text
    _act(desk, admin, "models-promote", second, "better")
    assert _statuses(desk) == {first: "retired", second: "champion"}
    response = _act(desk, admin, "models-rollback", second, "hit rate fell")
    assert f"Rolled back: model {first} is the champion of BTCUSDT 1h." in response.text
    assert _statuses(desk) == {first: "champion", second: "rolled_back"}
    trail = [(a.actor, a.action, a.target, a.reason) for a in audit_trail(desk.db)[-3:]]
    assert trail == [
        ("model-admin", "ml.promote", f"ml_model:{first}", "validated"),
        ("model-admin", "ml.promote", f"ml_model:{second}", "better"),
        ("model-admin", "ml.rollback", f"ml_model:{first}", "hit rate fell"),
    ]
    again = _act(desk, admin, "models-rollback", first)
    assert "no earlier champion" in again.text
    assert _statuses(desk) == {first: "champion", second: "rolled_back"}


def test_a_trader_cannot_promote(desk, models):
    trader = desk.signed_in("model-trader", "trader")
    before = _statuses(desk)
    response = _act(desk, trader, "models-promote", models[1])
    assert response.status_code == 403
    assert _statuses(desk) == before
