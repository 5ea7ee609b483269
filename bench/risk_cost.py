"""What the risk manager adds to a bot's candle: the bots' candle transactions on a SQLite
file with no risk limit, then with the demo's default limits (every entry checked against
each, breaches and the circuit breaker looked at after every candle) plus a trailing stop
and breakeven on every position.

    .venv/bin/python bench/risk_cost.py [--bots 200] [--candles 10]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path


def run(bots: int, candles: int, with_limits: bool) -> tuple[float, int]:
    from botdesk.db import risk_limits
    from botdesk.db.migrate import upgrade
    from botdesk.db.session import Database
    from botdesk.engine.klines import load_klines
    from botdesk.engine.sample_data import sample_file
    from tests.engine.driving import Driver, runtime_for
    from tests.factories import make_bot

    symbols = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
    url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    upgrade(url)
    db = Database(url)
    for number in range(bots):
        params = {"fast": 2, "slow": 3 + number % 5, "stop_atr": 2}  # trades often
        make_bot(db, symbol=symbols[number % 3], params=params, state="running")
    if with_limits:
        with db.writing() as session:
            risk_limits.seed_defaults(session=session)
            for kind, value in (("trailing_stop_percent", "2"), ("breakeven_after_percent", "1")):
                risk_limits.set_limit(session=session, kind=kind, value=value, bot_id=None, by="b")
    driver = Driver(runtime_for(db), {s: load_klines(sample_file(s)).candles for s in symbols})
    started = time.perf_counter()
    processed = sum(driver.step() for _ in range(candles))
    spent = time.perf_counter() - started
    db.dispose()
    return spent / processed, processed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--candles", type=int, default=10)
    args = parser.parse_args()
    print(f"{args.bots} paper bots (ema_cross 2/3..7, stop 2 ATR), {args.candles} candles, SQLite")
    for label, with_limits in (("no risk limit", False), ("default limits + trailing", True)):
        per, processed = run(args.bots, args.candles, with_limits)
        print(f"  {label:<27} {per * 1000:6.2f} ms per bot and candle ({processed} bot-candles)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
