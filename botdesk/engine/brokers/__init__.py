"""Brokers by name: `paper` and `binance` (python-binance; testnet or live per the bot's
exchange account)."""

from collections.abc import Callable

from botdesk.engine.brokers.base import Broker, BrokerError
from botdesk.engine.brokers.paper import PaperBroker
from botdesk.settings import Settings

BrokerFactory = Callable[[Settings], Broker]

BROKERS: dict[str, BrokerFactory] = {
    "paper": lambda settings: PaperBroker(
        fee_rate=settings.FEE_RATE, slippage_bps=settings.SLIPPAGE_BPS
    ),
    "binance": lambda settings: _binance(settings),
}


def _binance(settings: Settings) -> Broker:
    from botdesk.engine.brokers.binance import BinanceBroker  # python-binance loads on use

    return BinanceBroker(settings)


class BrokerUnavailable(BrokerError):
    """No broker of that name in this engine."""


def register(name: str, factory: BrokerFactory) -> None:
    BROKERS[name] = factory


class Brokers:
    """One broker instance per name, built on first use."""

    def __init__(self, settings: Settings, db=None):
        self.settings = settings
        self.db = db
        self._instances: dict[str, Broker] = {}

    def get(self, name: str) -> Broker:
        broker = self._instances.get(name)
        if broker is None:
            factory = BROKERS.get(name)
            if factory is None:
                known = ", ".join(sorted(BROKERS))
                raise BrokerUnavailable(f"no {name!r} broker in this engine (it has {known})")
            broker = self._instances[name] = factory(self.settings)
            if self.db is not None:
                broker.bind(self.db)
        return broker

    def all(self) -> list[Broker]:
        return [self.get(name) for name in BROKERS]
