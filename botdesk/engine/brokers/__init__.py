"""Brokers by name: `paper` here; an exchange broker registers itself the same way."""

from collections.abc import Callable

from botdesk.engine.brokers.base import Broker, BrokerError
from botdesk.engine.brokers.paper import PaperBroker
from botdesk.settings import Settings

BrokerFactory = Callable[[Settings], Broker]

BROKERS: dict[str, BrokerFactory] = {
    "paper": lambda settings: PaperBroker(
        fee_rate=settings.FEE_RATE, slippage_bps=settings.SLIPPAGE_BPS
    ),
}


class BrokerUnavailable(BrokerError):
    """No broker of that name in this engine."""


def register(name: str, factory: BrokerFactory) -> None:
    BROKERS[name] = factory


class Brokers:
    """One broker instance per name, built on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._instances: dict[str, Broker] = {}

    def get(self, name: str) -> Broker:
        broker = self._instances.get(name)
        if broker is None:
            factory = BROKERS.get(name)
            if factory is None:
                known = ", ".join(sorted(BROKERS))
                raise BrokerUnavailable(f"no {name!r} broker in this engine (it has {known})")
            broker = self._instances[name] = factory(self.settings)
        return broker

    def all(self) -> list[Broker]:
        return [self.get(name) for name in BROKERS]
