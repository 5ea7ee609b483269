"""Market data feeds: closed 1m candles per symbol, replayed or from Binance.

`FEEDS` maps `BOTDESK_FEED` to a factory: `replay` or `binance`.
"""

from collections.abc import Callable

from botdesk.engine.feeds.base import Feed, FeedError
from botdesk.settings import Settings


def _replay(settings: Settings) -> Feed:
    from botdesk.engine.feeds.replay import ReplayFeed, load_replay_data, replay_source

    return ReplayFeed(
        load_replay_data(settings.REPLAY_DATA),
        speed=settings.REPLAY_SPEED,
        source=replay_source(settings.REPLAY_DATA),
    )


def _binance(settings: Settings) -> Feed:
    from botdesk.engine.feeds.binance import make_binance_feed  # python-binance loads on use

    return make_binance_feed(settings)


FEEDS: dict[str, Callable[[Settings], Feed]] = {"replay": _replay, "binance": _binance}


def make_feed(settings: Settings) -> Feed:
    factory = FEEDS.get(settings.FEED)
    if factory is None:
        known = ", ".join(sorted(FEEDS))
        raise FeedError(f"the {settings.FEED!r} feed is not available in this engine ({known})")
    return factory(settings)
