"""The issue's script: it holds /api/v1/stream open on a real desk and sees the signals and
fills a real engine process makes on replayed real klines, exactly the rows it stored."""

import pytest
from sqlmodel import col, select

from botdesk.db.models import Fill, Signal
from botdesk.db.seed import seed_demo
from tests.conftest import make_env
from tests.desk import RunningDesk
from tests.factories import make_api_key, make_user
from tests.stream_client import StreamClient

pytestmark = pytest.mark.integration


def test_a_script_sees_the_engines_signals_and_fills_as_it_makes_them(db, tmp_path, processes):
    with db.writing() as session:
        seed_demo(session=session)
    desk = RunningDesk(db.url, tmp_path / "desk")
    try:
        key = make_api_key(db, make_user(db, role="viewer"), "read")
        client = StreamClient(desk.base, key, channels="signals,fills", timeout=60)
        assert client.status == 200
        processes.start(["engine"], make_env(db.url, tmp_path, BOTDESK_REPLAY_SPEED="600"))
        events = client.events_until(
            lambda got: sum(e.event == "fills" for e in got) >= 3, timeout=120
        )
        client.close()
    finally:
        desk.stop()
    with db.reading() as session:
        signals = {s.id: s for s in session.exec(select(Signal)).all()}
        fills = session.exec(select(Fill).order_by(col(Fill.id))).all()
    streamed_fills = [e.data for e in events if e.event == "fills"]
    # the first fills the engine stored, in order, each as GET /fills shows it
    assert [f["id"] for f in streamed_fills] == [f.id for f in fills[: len(streamed_fills)]]
    for streamed, stored in zip(streamed_fills, fills, strict=False):
        assert streamed["price"] == f"{stored.price:.8f}"
        assert streamed["quantity"] == f"{stored.quantity:.8f}"
    streamed_signals = [e.data for e in events if e.event == "signals"]
    assert streamed_signals, "no signal before the fills"
    for streamed in streamed_signals:
        assert streamed["side"] == signals[streamed["id"]].side
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
