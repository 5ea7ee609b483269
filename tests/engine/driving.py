"""Driving the engine's own market data and bot runner in-process, candle by candle, on a
real database: the live code path without the feed's clock."""

from decimal import Decimal

from botdesk.db import candles as candle_store
from botdesk.db.session import Database
from botdesk.engine import leases
from botdesk.engine.frames import CandleFrame
from botdesk.engine.klines import load_klines
from botdesk.engine.market import MarketData, candle_rows
from botdesk.engine.runner import BotRunner
from botdesk.engine.runtime import EngineRuntime
from botdesk.engine.sample_data import sample_file
from botdesk.settings import Settings


def sample(symbol: str) -> CandleFrame:
    return load_klines(sample_file(symbol)).candles


def runtime_for(
    db: Database, *, fee_rate: str = "0.001", slippage_bps: str = "0", engine_id: str = "test"
) -> EngineRuntime:
    settings = Settings(
        DATABASE_URL=db.url, FEE_RATE=Decimal(fee_rate), SLIPPAGE_BPS=Decimal(slippage_bps)
    )
    return EngineRuntime(db=db, settings=settings, engine_id=engine_id)


class Driver:
    """Feeds 1m candles to MarketData, stores them, runs the bot runner after each step."""

    def __init__(
        self, runtime: EngineRuntime, data: dict[str, CandleFrame], *, warmup=600, window=None
    ):
        self.runtime = runtime
        self.data = data
        self.market = MarketData() if window is None else MarketData(window=window)
        self.runner = BotRunner(runtime, self.market)
        self.position = 0
        leases.renew(runtime)
        self.step(warmup)  # history first, as the feed's warm-up does
        self.runner.run()  # bots start their cursor at the newest candle

    def step(self, minutes: int = 1) -> int:
        """Release the next `minutes` 1m candles of every symbol, then run the bots."""
        end = self.position + minutes
        rows = []
        for symbol, frame in self.data.items():
            rows += candle_rows(symbol, self.market.add(symbol, frame[self.position : end]))
        self.position = end
        with self.runtime.db.writing() as session:
            candle_store.upsert(session=session, candles=rows)
        leases.renew(self.runtime)
        return self.runner.run()

    def run(self, minutes: int) -> int:
        return sum(self.step() for _ in range(minutes))
