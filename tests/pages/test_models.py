"""The Models page on a real desk: an admin reads a version's out-of-sample report beside
the baselines, promotes it and rolls it back, each audited with the reason; what is not
allowed is refused and changes nothing."""

import json
import time

import pytest
from sqlmodel import select

import botdesk.engine.handlers  # noqa: F401  (registers the handlers)
from botdesk.db import candles as candle_store
from botdesk.db import ml_trainings
from botdesk.db.models import Command, MlModel
from botdesk.engine import commands
from botdesk.ml import jobs
from botdesk.ml.labels import LabelSpec
from botdesk.ml.runs import TrainRequest, train
from botdesk.ml.training import TrainSettings
from tests.conftest import SHARED_DATA
from tests.desk import call_registered, click, dependencies, first_output
from tests.engine.driving import runtime_for
from tests.ml.conftest import shared_candles
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


TRAIN_FORM = {
    "models-train-symbol.value": "btcusdt",
    "models-train-timeframe.value": "1h",
    "models-train-label.value": "forward:horizon=12,threshold=0.01",
    "models-train-from.value": "2021-07-01",
    "models-train-to.value": "2022-05-01",
    "models-train-tune.value": "2",
}


def _trainings(desk):
    with desk.db.reading() as session:
        return [
            (c.id, c.status, c.issued_by)
            for c in session.exec(select(Command).where(Command.kind == "ml.train")).all()
        ]


@pytest.fixture(scope="module")
def stored(desk):
    """BTCUSDT 1h, 2021-06 to 2022-05, in the desk's candle table."""
    frame = shared_candles("BTCUSDT-1h.csv").between(1_622_505_600_000, 1_651_363_200_000)
    with desk.db.writing() as session:
        candle_store.upsert(
            session=session,
            candles=[
                {"symbol": "BTCUSDT", "timeframe": "1h", **frame.row(i)} for i in range(len(frame))
            ],
        )
    return frame


def _progress(desk, client, command_id, followed=None):
    dependency = next(
        dep
        for dep in dependencies(client, desk.base)
        if first_output(dep["output"]) == "models-train-progress.children"
    )
    return call_registered(
        client,
        desk.base,
        dependency,
        {
            "models-train-job.data": command_id,
            "models-train-tick.n_intervals": 1,
            "models-train-followed.data": followed,
        },
    )


def test_an_admin_trains_from_the_desk_and_reads_the_report(desk, admin, stored):
    response = click(admin, desk.base, "models-train", TRAIN_FORM)
    assert response.status_code == 200
    [(command_id, status, issued_by)] = _trainings(desk)
    assert f"Training #{command_id} of BTCUSDT 1h queued" in response.text
    assert (status, issued_by) == ("pending", "model-admin")
    with desk.db.reading() as session:
        params = json.loads(session.get(Command, command_id).params)
    assert params == {
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "label": "forward:horizon=12,threshold=0.01",
        "from_ms": 1_625_097_600_000,
        "to_ms": 1_651_363_200_000,
        "tune_trials": 2,
    }
    trail = audit_trail(desk.db)[-1]
    assert (trail.actor, trail.action) == ("model-admin", "command.ml.train")
    assert "0% queued" not in _progress(desk, admin, command_id).text  # pending: no bar yet
    # the engine's consumer claims it and runs `botdesk ml job` in a process of its own
    runtime = runtime_for(desk.db)
    commands.consume(runtime)
    seen = set()
    deadline = time.monotonic() + 600
    while (status := _trainings(desk)[0][1]) == "running":
        assert time.monotonic() < deadline
        with desk.db.reading() as session:
            seen.add(session.get(Command, command_id).result.split(" ", 1)[-1])
        time.sleep(0.2)
    with desk.db.reading() as session:
        result = session.get(Command, command_id).result
    assert status == "done", result
    assert seen & {"tuning", "walk-forward", "final model", "report"}  # progress was written
    version = jobs.model_of(result)
    with desk.db.reading() as session:
        model = session.get(MlModel, version)
    assert model.created_by == "model-admin" and model.data_source == "stored"
    assert model.train_to_ms <= 1_651_363_200_000
    answer = _progress(desk, admin, command_id).json()["response"]
    shown = json.dumps(answer)
    assert f"model {version} trained: BTCUSDT 1h" in shown
    for name in ("always_hold", "buy_and_hold", "ema_cross", "Feature importance"):
        assert name in shown
    # the versions list and the choice take the new model in without a reload, once
    [options] = [v["options"] for k, v in answer.items() if k.startswith("models-version")]
    assert {"label": f"{version}: BTCUSDT 1h (candidate)", "value": str(version)} in options
    assert answer["models-train-followed"]["data"] == {"id": command_id, "ended": True}
    followed = {"id": command_id, "ended": True}
    assert _progress(desk, admin, command_id, followed).status_code == 204
    assert "Parameters chosen by 2 Optuna trials on 3 inner folds" in shown
    assert json.loads(model.params)["tune_trials"] == 2


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"models-train-label.value": "guess:horizon=3"}, "Label: unknown label kind"),
        ({"models-train-tune.value": "501"}, "Tune trials: a whole number from 0 to 500"),
        ({"models-train-to.value": "2021-06-01"}, "To: the window must end after it starts"),
        ({"models-train-from.value": "01/02/2022"}, "From: '01/02/2022' is not a date"),
        ({"models-train-symbol.value": "btc/usdt"}, "Symbol: 'BTC/USDT' is not a symbol"),
        ({"models-train-symbol.value": "ETHUSDT"}, "0 stored 1h candles of ETHUSDT"),
    ],
)
def test_a_bad_training_is_refused_and_queues_nothing(desk, admin, changes, message):
    before = _trainings(desk)
    response = click(admin, desk.base, "models-train", TRAIN_FORM | changes)
    assert response.status_code == 200
    shown = response.json()["response"]["models-train-result"]["children"]["props"]["children"]
    assert shown.startswith("Not queued.") and message in shown
    assert _trainings(desk) == before


def test_a_trader_cannot_queue_a_training(desk):
    trader = desk.signed_in("train-trader", "trader")
    before = _trainings(desk)
    response = click(trader, desk.base, "models-train", TRAIN_FORM)
    assert response.status_code == 403
    assert _trainings(desk) == before


def test_a_training_that_cannot_run_fails_with_its_reason_on_the_page(desk, admin, stored):
    short = TRAIN_FORM | {"models-train-from.value": "2022-04-20"}  # 11 days: too few
    click(admin, desk.base, "models-train", short)
    command_id = max(c for c, _, _ in _trainings(desk))
    commands.consume(runtime_for(desk.db))
    deadline = time.monotonic() + 300
    while (status := dict((c, s) for c, s, _ in _trainings(desk))[command_id]) in (
        "pending",
        "running",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert status == "failed"
    shown = _progress(desk, admin, command_id).text
    assert f"Training #{command_id} failed: training failed: only" in shown
    assert "at least 500 are needed" in shown


def test_a_page_opened_afresh_follows_the_training_under_way(desk, admin):
    with desk.db.writing() as session:
        command = ml_trainings.queue(
            session=session, params={"symbol": "BTCUSDT"}, issued_by="another-admin"
        )
        ml_trainings.note_progress(session=session, command_id=command.id, text="45% walk-forward")
    try:
        shown = _progress(desk, admin, None).text
        assert f"Training #{command.id}: walk-forward" in shown
        assert '"value":45' in shown
    finally:
        with desk.db.writing() as session:
            session.get(Command, command.id).status = "failed"
    assert _progress(desk, admin, None).status_code == 204  # nothing under way: no change
    # the page that followed it sees it end, once
    followed = {"id": command.id, "ended": False}
    ended = _progress(desk, admin, None, followed).json()["response"]
    assert ended["models-train-followed"]["data"] == {"id": command.id, "ended": True}
    assert f"Training #{command.id} failed" in json.dumps(ended["models-train-progress"])
    assert _progress(desk, admin, None, ended["models-train-followed"]["data"]).status_code == 204
