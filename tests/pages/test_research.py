"""Strategies and Research pages on a real desk with a strategy folder: sources, the
lookahead flag, load failures with their tracebacks; an optimisation started from the
desk and run by the engine's code, its progress, best trials, importance and plots; one
click to backtest a trial (trader) or make a bot of it (admin); a walk-forward; the bot
form's lookahead override, audited."""

import json

import pytest
from sqlmodel import col, select

from botdesk.db.models import BacktestRun, Command, WalkForwardRun
from botdesk.engine.research import studies
from botdesk.engine.research.runs import execute_walk_forward, optimise_stored
from botdesk.engine.strategies import loader
from tests.desk import RunningDesk, click, dependencies, registered_body, render
from tests.engine.research.strategy_files import CLEAN, PEEKING, RAISES_ON_IMPORT, write
from tests.pages.test_bots import bot_named, press
from tests.pages.test_bots import save as save_bot
from tests.rows import audit_trail

pytestmark = pytest.mark.integration

FORM = {
    "research-strategy.value": "ema_cross",
    "research-symbol.value": "BTCUSDT",
    "research-timeframe.value": "5m",
    "research-source.value": "sample",
    "research-sizing.value": "all-cash",
    "research-objective.value": "sharpe",
    "research-sampler.value": "tpe",
    "research-trials.value": "6",
    "research-min-trades.value": "1",
    "research-train-days.value": "3",
    "research-test-days.value": "1",
    "research-seed.value": "7",  # a recorded seed: the same trials on every run
}


@pytest.fixture(scope="module")
def desk(module_database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("strategies")
    write(folder, "over_sma", CLEAN.format(name="over_sma"))
    write(folder, "next_close", PEEKING)
    write(folder, "settings_file", RAISES_ON_IMPORT)
    running = RunningDesk(
        module_database_url, tmp_path_factory.mktemp("desk"), BOTDESK_STRATEGY_PATH=str(folder)
    )
    running.folder = folder
    loader.load_user_strategies(folder, packages=False)  # as the engine has them
    yield running
    running.stop()
    loader.load_user_strategies(None, packages=False)


def callback(client, desk, output: str, values: dict, changed=None):
    dependency = next(
        dep for dep in dependencies(client, desk.base) if dep["output"].startswith(output)
    )
    body = registered_body(dependency, values, changed=changed)
    return client.post(f"{desk.base}/_dash-update-component", json=body, timeout=60)


def test_the_strategies_page_shows_sources_the_lookahead_flag_and_tracebacks(desk):
    viewer = desk.signed_in("strat-viewer", "viewer")
    page = render(viewer, desk.base, "/strategies")
    assert str(desk.folder / "over_sma.py") in page
    assert "no lookahead" in page  # over_sma, checked on the bundled sample
    assert "strategies-lookahead-next_close" in page and "LOOKAHEAD" in page
    assert f"{desk.folder / 'settings_file.py'}: " in page
    assert "JSONDecodeError" in page and "line 4, in \\u003cmodule\\u003e" in page.replace(
        "<", "\\u003c"
    ).replace(">", "\\u003e")


def test_an_optimisation_from_the_desk_runs_and_its_trials_become_backtests_and_bots(desk):
    viewer = desk.signed_in("research-viewer", "viewer")
    assert click(viewer, desk.base, "research-optimise", FORM).status_code == 403
    trader = desk.signed_in("research-trader", "trader")
    bad = click(trader, desk.base, "research-optimise", {**FORM, "research-trials.value": "0"})
    assert "Not started. trials: must be between 1 and 5000" in bad.text
    bad_seed = click(trader, desk.base, "research-optimise", {**FORM, "research-seed.value": "x"})
    assert "Not started. seed:" in bad_seed.text
    started = click(trader, desk.base, "research-optimise", FORM)
    assert started.status_code == 200 and "the engine runs its trials" in started.text
    name = started.json()["response"]["research-created"]["data"]
    with desk.db.reading() as session:
        command = session.exec(select(Command).where(Command.kind == "study.optimize")).one()
    assert command.target == f"study:{name}" and command.issued_by == "research-trader"

    listed = callback(
        trader,
        desk,
        "..research-study.options",
        {"research-created.data": name},
        changed=["research-created.data"],
    ).json()["response"]["research-study"]
    assert (
        listed["value"] == name
        and {"label": f"{name} (0 trials)", "value": name} in (listed["options"])
    )
    said = optimise_stored(desk.db, desk.env["BOTDESK_DATABASE_URL"], name)  # the engine's work
    assert said.startswith(f"study {name}: 6 trials run")
    shown = callback(viewer, desk, "..research-progress.children", {"research-study.value": name})
    assert "6 of 6 trials finished" in shown.text and "tpe sampler (seed 7)" in shown.text
    assert "research-best-trials" in shown.text
    assert '"research-backtest"' not in shown.text  # a viewer gets no action buttons
    as_trader = callback(
        trader, desk, "..research-progress.children", {"research-study.value": name}
    )
    assert '"research-backtest"' in as_trader.text and '"research-bot"' not in as_trader.text
    marker = shown.json()["response"]["research-finished"]["data"]
    plots = callback(viewer, desk, "research-plots.children", {"research-finished.data": marker})
    for part in ("research-importance", "research-plot-history", "research-plot-slice"):
        assert part in plots.text

    study, settings = studies.load_study(
        studies.storage_for(desk.env["BOTDESK_DATABASE_URL"]), name
    )
    best = studies.completed(study)[0]
    button = {"type": "research-backtest", "trial": best.number}
    assert press(viewer, desk, button, {"research-study.value": name}).status_code == 403
    queued = press(trader, desk, button, {"research-study.value": name})
    assert f"Trial #{best.number} queued as backtest" in queued.text
    with desk.db.reading() as session:
        run = session.exec(select(BacktestRun).order_by(col(BacktestRun.id).desc())).first()
    assert json.loads(run.params) == {**settings.fixed, **best.params}
    assert (run.symbol, run.timeframe, run.sizing) == ("BTCUSDT", "5m", "all-cash")

    make_bot = {"type": "research-bot", "trial": best.number}
    assert press(trader, desk, make_bot, {"research-study.value": name}).status_code == 403
    admin = desk.signed_in("research-admin", "admin")
    made = press(admin, desk, make_bot, {"research-study.value": name})
    assert "(paper, stopped)" in made.text
    bot_name = f"ema_cross-{name[-15:]}-t{best.number}"
    bot = bot_named(desk, bot_name)
    assert json.loads(bot.params) == {**settings.fixed, **best.params}
    assert (bot.broker, bot.status, bot.symbol) == ("paper", "stopped", "BTCUSDT")
    trail = audit_trail(desk.db, actor="research-admin", action="bot.create")
    assert json.loads(trail[-1].details)["trial"] == best.number


def test_a_peeking_strategys_study_is_flagged_and_its_trials_make_no_bot(desk):
    trader = desk.signed_in("peek-trader", "trader")
    started = click(
        trader,
        desk.base,
        "research-optimise",
        {
            **FORM,
            "research-strategy.value": "next_close",
            "research-min-trades.value": "0",
            "research-trials.value": "2",
        },
    )
    assert "failed the lookahead check" in started.text
    name = started.json()["response"]["research-created"]["data"]
    optimise_stored(desk.db, desk.env["BOTDESK_DATABASE_URL"], name)
    shown = callback(trader, desk, "..research-progress.children", {"research-study.value": name})
    assert "LOOKAHEAD" in shown.text
    study, _ = studies.load_study(studies.storage_for(desk.env["BOTDESK_DATABASE_URL"]), name)
    admin = desk.signed_in("peek-admin", "admin")
    number = studies.completed(study)[0].number
    refused = press(
        admin, desk, {"type": "research-bot", "trial": number}, {"research-study.value": name}
    )
    assert "No bot made. strategy: strategy next_close failed the lookahead check" in refused.text


def test_a_walk_forward_from_the_desk_runs_and_shows_its_windows(desk):
    trader = desk.signed_in("wf-trader", "trader")
    queued = click(trader, desk.base, "research-walk", {**FORM, "research-trials.value": "3"})
    assert "Walk-forward #" in queued.text
    with desk.db.reading() as session:
        run = session.exec(select(WalkForwardRun).order_by(col(WalkForwardRun.id).desc())).first()
    assert run.status == "queued" and json.loads(run.settings)["train"] == 3 * 288
    execute_walk_forward(desk.db, run.id)  # what the engine's command runs
    shown = callback(trader, desk, "..research-wf.children", {"research-wf-show.value": run.id})
    assert "research-wf-summary" in shown.text and "walk-forward efficiency" in shown.text
    text = json.dumps(shown.json(), ensure_ascii=False)
    assert text.count("→") == 2 * 4  # (7 - 3) windows, each with training and test dates


def test_the_bot_form_refuses_a_peeking_strategy_unless_the_admin_allows_it(desk):
    admin = desk.signed_in("override-admin", "admin")
    form = {"strategy": "next_close", "name": "peeker", "symbol": "BTCUSDT"}
    refused = save_bot(admin, desk, {"stop_atr": 0}, **form)
    assert "failed the lookahead check" in refused.text and "Allow lookahead" in refused.text
    assert bot_named(desk, "peeker") is None
    allowed = save_bot(admin, desk, {"stop_atr": 0}, **form, **{"allow-lookahead": True})
    assert "Created peeker" in allowed.text
    assert bot_named(desk, "peeker").lookahead_allowed_by == "override-admin"
    (override,) = audit_trail(desk.db, actor="override-admin", action="bot.lookahead_override")
    assert "failed the lookahead check" in override.reason
    clean = save_bot(admin, desk, {"period": 30}, strategy="over_sma", name="smooth")
    assert "Created smooth" in clean.text
    assert bot_named(desk, "smooth").lookahead_allowed_by is None


def test_a_study_started_without_a_seed_records_the_one_drawn_for_it(desk):
    trader = desk.signed_in("seedless-trader", "trader")
    started = click(trader, desk.base, "research-optimise", {**FORM, "research-seed.value": ""})
    name = started.json()["response"]["research-created"]["data"]
    _, settings = studies.load_study(studies.storage_for(desk.env["BOTDESK_DATABASE_URL"]), name)
    assert isinstance(settings.seed, int) and 0 <= settings.seed <= 2**31 - 1
