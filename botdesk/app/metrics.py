"""`/metrics` in the Prometheus text format (prometheus_client), read from the database at
each scrape, so it says the same whichever desk worker answers and wherever the engine
runs. Not public: with BOTDESK_METRICS_TOKEN set it wants `Authorization: Bearer <token>`;
without, it answers only requests from the desk's own host (loopback)."""

import hmac
import ipaddress
import json
import time

from flask import Blueprint, Response, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from sqlmodel import col, func, select

from botdesk.app.context import desk_db, desk_settings
from botdesk.db import engine_state, notifications
from botdesk.db.models import (
    Bot,
    Command,
    EngineInstance,
    EquitySnapshot,
    Fill,
    Notification,
    Order,
    Position,
    PositionStatus,
    RiskEvent,
)
from botdesk.db.types import utcnow

blueprint = Blueprint("metrics", __name__)
LATENCY_SAMPLE = 200  # the latest finished commands the latency quantiles are taken over
LIVE_ENGINE_SECONDS = 600  # engines that beat within this long are reported


def _float(value) -> float:
    return float(value or 0)


class DeskCollector:
    """Every figure of /metrics, read in one database snapshot."""

    def __init__(self, db, stale_seconds: int):
        self.db = db
        self.stale_seconds = stale_seconds

    def collect(self):
        with self.db.reading() as session:
            yield from self._engine(session)
            yield from self._trading(session)
            yield from self._control(session)
            yield from self._notifications(session)

    def _engine(self, session):
        state = engine_state.get(session=session)
        age = engine_state.heartbeat_age_seconds(state)
        heartbeat = GaugeMetricFamily(
            "botdesk_engine_heartbeat_age_seconds",
            "Seconds since the engine last wrote its heartbeat (NaN: no engine ever ran).",
        )
        heartbeat.add_metric([], age if age is not None else float("nan"))
        yield heartbeat
        up = GaugeMetricFamily(
            "botdesk_engine_up", "1 while the heartbeat is fresher than the stale limit."
        )
        up.add_metric([], 1.0 if age is not None and age <= self.stale_seconds else 0.0)
        yield up
        candles = CounterMetricFamily(
            "botdesk_candles_processed",
            "Candles processed (one bot, one candle), per engine process.",
            labels=["engine"],
        )
        latency = HistogramMetricFamily(
            "botdesk_candle_processing_seconds",
            "Time to process one candle for one bot: strategy, risk, orders, writes.",
            labels=["engine"],
        )
        since = utcnow().timestamp() - LIVE_ENGINE_SECONDS
        for instance in session.exec(
            select(EngineInstance).where(col(EngineInstance.metrics).is_not(None))
        ):
            if instance.last_beat is None or instance.last_beat.timestamp() < since:
                continue
            figures = json.loads(instance.metrics)
            candles.add_metric([instance.id], figures["candles"])
            cumulative, buckets = 0, []
            for bound, count in zip(
                [*figures["bucket_bounds"], "+Inf"], figures["candle_buckets"], strict=True
            ):
                cumulative += count
                buckets.append((str(bound), cumulative))
            latency.add_metric([instance.id], buckets, figures["candle_seconds_sum"])
        yield candles
        yield latency

    def _trading(self, session):
        orders = GaugeMetricFamily("botdesk_orders", "Orders by status.", labels=["status"])
        for status, count in session.exec(
            select(Order.status, func.count()).group_by(Order.status)
        ):
            orders.add_metric([status], count)
        yield orders
        fills = CounterMetricFamily("botdesk_fills", "Fills recorded.")
        fills.add_metric([], session.exec(select(func.count()).select_from(Fill)).one())
        yield fills
        open_positions = GaugeMetricFamily("botdesk_open_positions", "Open positions.")
        open_positions.add_metric(
            [],
            session.exec(
                select(func.count())
                .select_from(Position)
                .where(Position.status == PositionStatus.OPEN)
            ).one(),
        )
        yield open_positions
        equity = GaugeMetricFamily(
            "botdesk_equity", "Each bot's latest equity (quote currency).", labels=["bot"]
        )
        latest = (
            select(func.max(EquitySnapshot.id))
            .where(col(EquitySnapshot.bot_id).is_not(None))
            .group_by(EquitySnapshot.bot_id)
        )
        names = dict(session.exec(select(Bot.id, Bot.name)).all())
        for snapshot in session.exec(
            select(EquitySnapshot).where(col(EquitySnapshot.id).in_(latest))
        ):
            equity.add_metric(
                [names.get(snapshot.bot_id, str(snapshot.bot_id))], _float(snapshot.equity)
            )
        yield equity
        refusals = CounterMetricFamily(
            "botdesk_risk_refusals", "Orders refused by the risk checks, by rule.", labels=["rule"]
        )
        for rule, count in session.exec(
            select(RiskEvent.rule, func.count())
            .where(RiskEvent.kind == "refused")
            .group_by(RiskEvent.rule)
        ):
            refusals.add_metric([rule or "unknown"], count)
        yield refusals

    def _control(self, session):
        depth = GaugeMetricFamily(
            "botdesk_command_queue_depth", "Commands waiting for the engine (pending)."
        )
        depth.add_metric(
            [],
            session.exec(
                select(func.count()).select_from(Command).where(Command.status == "pending")
            ).one(),
        )
        yield depth
        finished = session.exec(
            select(Command.created_at, Command.finished_at)
            .where(col(Command.finished_at).is_not(None))
            .order_by(col(Command.id).desc())
            .limit(LATENCY_SAMPLE)
        ).all()
        latency = GaugeMetricFamily(
            "botdesk_command_latency_seconds",
            f"Issued to finished, over the latest {LATENCY_SAMPLE} finished commands.",
            labels=["quantile"],
        )
        took = sorted((done - issued).total_seconds() for issued, done in finished)
        for quantile in (0.5, 0.9, 0.99):
            value = took[min(len(took) - 1, int(quantile * len(took)))] if took else float("nan")
            latency.add_metric([str(quantile)], value)
        yield latency
        switch = GaugeMetricFamily(
            "botdesk_kill_switch_engaged", "1 while the kill switch is engaged."
        )
        switch.add_metric([], 1.0 if engine_state.get(session=session).kill_switch_engaged else 0.0)
        yield switch

    def _notifications(self, session):
        deliveries = GaugeMetricFamily(
            "botdesk_notification_deliveries",
            "Notification deliveries by status (queued, sending, sent, failed).",
            labels=["status"],
        )
        for status, count in notifications.counts_by_status(session=session).items():
            deliveries.add_metric([status], count)
        yield deliveries
        waiting = GaugeMetricFamily(
            "botdesk_notification_queue",
            "Events not yet delivered: waiting to be fanned out, queued or sending.",
        )
        counts = notifications.counts_by_status(session=session)
        waiting.add_metric(
            [],
            notifications.waiting_fan_out(session=session) + counts["queued"] + counts["sending"],
        )
        yield waiting
        events = CounterMetricFamily("botdesk_notification_events", "Events written to the outbox.")
        events.add_metric([], session.exec(select(func.count()).select_from(Notification)).one())
        yield events


def _allowed() -> bool:
    token = desk_settings().METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@blueprint.get("/metrics")
def metrics():
    if not _allowed():
        time.sleep(0.05)  # no fast oracle for guessing the token
        return Response(
            "metrics need the bearer token (BOTDESK_METRICS_TOKEN) or a request from this host\n",
            status=401 if desk_settings().METRICS_TOKEN else 403,
            mimetype="text/plain",
            headers={"WWW-Authenticate": "Bearer"} if desk_settings().METRICS_TOKEN else {},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeskCollector(desk_db(), desk_settings().HEARTBEAT_STALE_SECONDS))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
