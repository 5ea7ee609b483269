"""What every engine job shares: the database, the settings, this instance's identity, the
brokers."""

import os
import socket
import uuid
from dataclasses import dataclass, field

from botdesk.db.session import Database
from botdesk.engine.brokers import Brokers
from botdesk.engine.metrics import EngineMetrics
from botdesk.settings import Settings


def new_engine_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class EngineRuntime:
    db: Database
    settings: Settings
    engine_id: str = field(default_factory=new_engine_id)
    heartbeat: object | None = None  # botdesk.engine.heartbeat.Heartbeat once started
    metrics: EngineMetrics = field(default_factory=EngineMetrics)  # for the desk's /metrics
    brokers: Brokers = field(init=False)

    def __post_init__(self):
        self.brokers = Brokers(self.settings, self.db)
