"""/metrics on a real desk: the Prometheus text format read back with prometheus_client's
own parser, each figure from the rows behind it (the engine's counters from its
engine_instance row); the bearer token when one is set, loopback otherwise."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from botdesk.db import engine_state, kill_switch, notifications
from botdesk.db.models import (
    Command,
    EngineInstance,
    EquitySnapshot,
    Order,
    RiskEvent,
    Role,
)
from botdesk.db.notifications import Event
from botdesk.db.types import utcnow
from botdesk.engine.metrics import EngineMetrics
from tests.desk import RunningDesk
from tests.factories import make_bot, make_position

pytestmark = pytest.mark.integration
TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def guarded(module_database_url, tmp_path_factory):
    running = RunningDesk(
        module_database_url, tmp_path_factory.mktemp("metrics"), BOTDESK_METRICS_TOKEN=TOKEN
    )
    yield running
    running.stop()


def scrape(base: str, token: str | None = TOKEN) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(f"{base}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_every_figure_comes_from_its_rows(guarded):
    db = guarded.db
    bot = make_bot(db, name="metrics-bot")
    make_position(db, bot)
    figures = EngineMetrics()
    for seconds in (0.002, 0.004, 0.3):
        figures.observe_candle(seconds)
    now = utcnow()
    with db.writing() as session:
        for status in ("filled", "filled", "rejected"):
            session.add(
                Order(
                    bot_id=bot.id,
                    client_order_id=f"m-{status}-{utcnow().timestamp()}",
                    symbol="BTCUSDT",
                    side="buy",
                    quantity=Decimal(1),
                    status=status,
                )
            )
        session.add(EquitySnapshot(bot_id=bot.id, equity=Decimal("10250.5"), cash=Decimal(0)))
        for rule in ("max_position", "max_position", "daily_loss"):
            session.add(RiskEvent(bot_id=bot.id, kind="refused", rule=rule, message="no"))
        session.add(
            EngineInstance(
                id="engine-m",
                hostname="h",
                pid=1,
                feed="replay",
                last_beat=now,
                metrics=figures.as_json(),
            )
        )
        state = engine_state.get(session=session)
        state.last_beat = now - timedelta(seconds=4)
        session.add(state)
        session.add(
            Command(
                kind="engine.ping",
                issued_by="x",
                status="done",
                created_at=now - timedelta(seconds=2),
                finished_at=now,
            )
        )
        kill_switch.engage(session=session, by="tia", role=Role.TRADER, reason="metrics")
        notifications.emit(session, Event("bot.error", "critical", "t", "b", {}, "m:1"))
    got = scrape(guarded.base)
    assert 4 <= got[("botdesk_engine_heartbeat_age_seconds", ())] < 60
    assert got[("botdesk_candles_processed_total", (("engine", "engine-m"),))] == 3
    bucket = "botdesk_candle_processing_seconds_bucket"
    assert got[(bucket, (("engine", "engine-m"), ("le", "0.0025")))] == 1
    assert got[(bucket, (("engine", "engine-m"), ("le", "0.005")))] == 2
    assert got[(bucket, (("engine", "engine-m"), ("le", "+Inf")))] == 3
    assert got[("botdesk_candle_processing_seconds_sum", (("engine", "engine-m"),))] == (
        pytest.approx(0.306)
    )
    assert got[("botdesk_orders", (("status", "filled"),))] == 2
    assert got[("botdesk_orders", (("status", "rejected"),))] == 1
    assert got[("botdesk_open_positions", ())] == 1
    assert got[("botdesk_equity", (("bot", "metrics-bot"),))] == 10250.5
    assert got[("botdesk_risk_refusals_total", (("rule", "max_position"),))] == 2
    assert got[("botdesk_risk_refusals_total", (("rule", "daily_loss"),))] == 1
    assert got[("botdesk_command_queue_depth", ())] == 1  # the kill switch's, pending
    assert got[("botdesk_command_latency_seconds", (("quantile", "0.5"),))] == 2
    assert got[("botdesk_kill_switch_engaged", ())] == 1
    assert got[("botdesk_notification_queue", ())] == 1  # not yet fanned out
    assert got[("botdesk_notification_events_total", ())] == 1
    assert got[("botdesk_fills_total", ())] == 0
    assert json.loads(figures.as_json())["candles"] == 3


def test_without_the_token_metrics_are_refused(guarded):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        response = requests.get(f"{guarded.base}/metrics", headers=headers, timeout=30)
        assert response.status_code == 401
        assert "botdesk_" not in response.text


def test_without_a_token_setting_loopback_may_scrape(desk):
    assert ("botdesk_engine_up", ()) in scrape(desk.base, token=None)
