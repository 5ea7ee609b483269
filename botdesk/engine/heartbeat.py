"""The engine's heartbeat: proof of life for the desk, and the dead man's switch's input."""

import logging
import time

from sqlmodel import select

from botdesk.db import engine_state
from botdesk.db.models import EngineInstance
from botdesk.db.types import utcnow

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes engine_state.last_beat; remembers when it last succeeded."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.last_success = time.monotonic()
        self.failing_since: float | None = None

    def beat(self) -> None:
        now = utcnow()
        try:
            with self.runtime.db.writing() as session:
                state = engine_state.get(session=session)
                state.last_beat = now
                state.engine_id = self.runtime.engine_id
                session.add(state)
                instance = session.exec(
                    select(EngineInstance).where(EngineInstance.id == self.runtime.engine_id)
                ).first()
                if instance is not None:
                    instance.last_beat = now
                    metrics = getattr(self.runtime, "metrics", None)
                    if metrics is not None:
                        instance.metrics = metrics.as_json()
                    session.add(instance)
        except Exception:
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            log.exception("heartbeat could not be written")
            return
        self.last_success = time.monotonic()
        self.failing_since = None

    def seconds_since_success(self) -> float:
        return time.monotonic() - self.last_success
