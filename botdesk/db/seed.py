"""Demo bots for the quick start: paper bots on the bundled replay of real Binance klines.

Their parameters are picked so that each trades within the first minute of `make run`
(the replay starts on 2024-10-29 00:00 UTC at one 1m candle a second).
"""

import json
from decimal import Decimal

from sqlmodel import Session, select

from botdesk.db.models import Bot, BotState

DEMO_BOTS = [
    ("btc-ema-cross", "ema_cross", "BTCUSDT", {"fast": 9, "slow": 21, "stop_atr": 2.0}),
    (
        "eth-rsi-reversion",
        "rsi_reversion",
        "ETHUSDT",
        {"period": 14, "oversold": 30, "overbought": 70, "stop_atr": 2.0},
    ),
    (
        "sol-bollinger",
        "bollinger_breakout",
        "SOLUSDT",
        {"period": 20, "stddev": 1.5, "stop_atr": 2.0},
    ),
]


def seed_demo(*, session: Session) -> list[str]:
    """Create the demo bots on a database that has no bot yet; returns the names created.

    Only an empty bot table is seeded, so a demo bot an operator deleted stays deleted.
    """
    if session.exec(select(Bot.id).limit(1)).first() is not None:
        return []
    created = []
    for name, strategy, symbol, params in DEMO_BOTS:
        session.add(
            Bot(
                name=name,
                strategy=strategy,
                symbol=symbol,
                timeframe="1m",
                broker="paper",
                params=json.dumps(params, sort_keys=True),
                capital=Decimal("10000"),
                desired_state=BotState.RUNNING,
                status=BotState.RUNNING,
            )
        )
        created.append(name)
    return created
