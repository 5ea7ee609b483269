"""Optimisation studies in the project's database: a trial re-run as an ordinary backtest
gives its figures exactly; the samplers; a study joined with other settings is refused;
two optimiser processes on one study both contribute trials."""

import json
import subprocess
import sys
from decimal import Decimal

import optuna
import pytest

from botdesk.engine.backtest.data import load_history
from botdesk.engine.backtest.runs import run_backtest
from botdesk.engine.research import objectives, studies
from botdesk.engine.research.studies import StudyError, StudySettings
from tests.processes import _workdir

SETTINGS = dict(
    strategy="ema_cross",
    symbol="BTCUSDT",
    timeframe="5m",
    data_source="sample",
    min_trades=3,
    seed=7,
    fixed={"stop_atr": 1.5},
)


def history():
    return load_history("sample", symbol="BTCUSDT", timeframe="5m")


@pytest.mark.parametrize("objective", objectives.OBJECTIVES)
def test_the_best_trial_rerun_as_a_backtest_reproduces_its_figures_exactly(database_url, objective):
    storage = studies.storage_for(database_url)
    wanted = StudySettings(**SETTINGS, objective=objective)
    study = studies.create_study(storage, f"best-{objective}", wanted)
    assert studies.run_trials(study, wanted, history(), 12) == 12

    # read back from the database, as another process would
    again, kept = studies.load_study(studies.storage_for(database_url), f"best-{objective}")
    assert kept == wanted
    best = studies.completed(again)[0]
    params = studies.trial_params(again, kept, best.number)
    assert params["stop_atr"] == 1.5 and set(params) == {"fast", "slow", "stop_atr"}
    # an ordinary backtest, loading its own data, nothing shared with the study
    report = run_backtest(kept.request(params))
    found = objectives.figures(report)
    assert objectives.value_of(found, objective, kept.min_trades) == best.value
    assert found.as_dict() == best.user_attrs["figures"]
    assert Decimal(best.user_attrs["figures"]["final_equity"]) == report.metrics.final_equity


def test_invalid_combinations_and_too_few_trades_are_pruned_with_the_reason(sqlite_url):
    storage = studies.storage_for(sqlite_url)
    wanted = StudySettings(**{**SETTINGS, "min_trades": 40}, sampler="random", trials=20)
    study = studies.create_study(storage, "pruned", wanted)
    studies.run_trials(study, wanted, history(), 20)
    reasons = [t.user_attrs.get("pruned") for t in study.trials if t.state.name == "PRUNED"]
    assert any("fast must be below slow" in r for r in reasons)
    assert any("fewer than the minimum 40" in r for r in reasons)
    for trial in studies.completed(study):
        assert trial.user_attrs["figures"]["trades"] >= 40
        assert trial.params["fast"] < trial.params["slow"]


def test_the_grid_sampler_walks_the_bounds(sqlite_url):
    storage = studies.storage_for(sqlite_url)
    wanted = StudySettings(**SETTINGS, sampler="grid", grid_points=3)
    study = studies.create_study(storage, "grid", wanted)
    studies.run_trials(study, wanted, history(), 9)
    seen = {(t.params["fast"], t.params["slow"]) for t in study.trials}
    assert seen == {(f, s) for f in (2, 51, 100) for s in (3, 102, 200)}


def test_joining_a_study_with_other_settings_is_refused(sqlite_url):
    storage = studies.storage_for(sqlite_url)
    studies.open_study(storage, "one", StudySettings(**SETTINGS))
    study, joined = studies.open_study(storage, "one", StudySettings(**SETTINGS, trials=5))
    assert joined and study.study_name == "one"
    with pytest.raises(StudyError, match=r"objective 'sharpe' \(not 'sortino'\)"):
        studies.open_study(storage, "one", StudySettings(**SETTINGS, objective="sortino"))


def test_a_database_without_botdesks_schema_is_refused(tmp_path):
    with pytest.raises(StudyError, match="botdesk init"):
        studies.storage_for(f"sqlite:///{tmp_path / 'empty.db'}")


@pytest.mark.integration
def test_two_optimiser_processes_on_one_study_both_contribute_trials(botdesk_env, database_url):
    args = [
        sys.executable,
        "-m",
        "botdesk",
        "optimize",
        "--strategy",
        "ema_cross",
        "--symbol",
        "BTCUSDT",
        "--timeframe",
        "5m",
        "--data",
        "sample",
        "--trials",
        "8",
        "--sizing",
        "all-cash",
        "--min-trades",
        "1",
        "--study",
        "shared",
        "--params",
        '{"stop_atr": 0}',
    ]
    workers = [
        subprocess.Popen(
            args,
            env=botdesk_env,
            cwd=_workdir(botdesk_env),
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, out + err
    said = sorted(out.split("\n", 1)[0].split(" study")[0] for out, _ in outputs)
    assert said == ["created", "joined"]

    study = optuna.load_study(storage=studies.storage_for(database_url), study_name="shared")
    trials = study.get_trials(deepcopy=False)
    assert len(trials) == 16
    assert len({t.number for t in trials}) == 16
    pids = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in trials}
    assert pids == {str(worker.pid) for worker in workers}
    assert all(t.state.name in ("COMPLETE", "PRUNED") for t in trials)
    assert json.loads(json.dumps(study.user_attrs["botdesk"]))["trials"] == 8
