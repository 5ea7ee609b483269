"""Binance's public kline history over REST, page by page (`botdesk data download`).

`GET /api/v3/klines` answers at most 1000 candles a call (weight 2). `kline_pages` walks a
time range forwards a page at a time and yields each page's closed candles (close time
before now), with Binance's extra fields. The `RestGate` reads `X-MBX-USED-WEIGHT-1M`
after every answer: past 90 % of the minute's 6000 it pauses until the minute ends, and a
429 or 418 pauses until its `Retry-After`. `kline_pages` waits those pauses out (telling
`on_wait`) up to `max_wait` seconds each; a longer one, or Binance unreachable three times
in a row, stops it with `DownloadStopped` (what was yielded is kept: a new run resumes).
"""

import time
from collections.abc import Callable, Iterator

from binance.client import Client

from botdesk.engine.brokers.binance_rest import (
    BinanceRest,
    ExchangeRefused,
    OutcomeUnknown,
    RateLimited,
    RestGate,
)
from botdesk.engine.frames import FLOW_COLUMNS, CandleFrame
from botdesk.engine.timeframes import timeframe_ms

PAGE = 1000
ATTEMPTS = 3  # calls without an answer in a row before giving up


class DownloadStopped(RuntimeError):
    """The download cannot go on now; the message says why and what to do."""


def public_rest(
    *, testnet: bool = False, rest_url: str | None = None, timeout: float = 10.0
) -> BinanceRest:
    """A key-less client for Binance's public market data, behind its own rate-limit gate;
    `rest_url` points it at another host (a local test server)."""
    client = Client(testnet=testnet, ping=False, requests_params={"timeout": timeout})
    if rest_url:
        client.API_URL = client.API_TESTNET_URL = f"{rest_url.rstrip('/')}/api"
    return BinanceRest(client, RestGate())


def kline_frame(rows: list[list]) -> CandleFrame:
    """Binance kline rows (open time, OHLCV, close time, quote volume, trades, taker-buy
    base and quote volume, ignore) as a frame with the flow columns."""
    columns = list(zip(*rows, strict=True))
    prices = [[float(value) for value in column] for column in columns[1:6]]
    flow = {
        name: [None if value is None else float(value) for value in column]
        for name, column in zip(FLOW_COLUMNS, columns[7:11], strict=False)
    }
    return CandleFrame.from_arrays([int(t) for t in columns[0]], *prices, **flow)


def kline_pages(
    rest: BinanceRest,
    *,
    symbol: str,
    timeframe: str,
    from_ms: int,
    to_ms: int,
    now_ms: int | None = None,
    max_wait: float = 120.0,
    on_wait: Callable[[float, str], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[CandleFrame]:
    """Closed `timeframe` candles of `symbol` with from_ms <= open time <= to_ms, one
    frame per page, oldest first. Raises DownloadStopped (see the module docstring)."""
    length = timeframe_ms(timeframe)
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    after, unanswered = from_ms, 0
    while after <= to_ms:
        try:
            rows = rest.call(
                "get_klines",
                symbol=symbol,
                interval=timeframe,
                startTime=after,
                endTime=to_ms,
                limit=PAGE,
            )
        except RateLimited as limited:
            wait = max(0.0, limited.retry_at - rest.gate.clock())
            if wait > max_wait:
                raise DownloadStopped(f"{limited}; run the same command later to resume") from None
            if on_wait is not None:
                on_wait(wait, str(limited))
            sleep(wait)
            continue
        except OutcomeUnknown as error:
            unanswered += 1
            if unanswered >= ATTEMPTS:
                raise DownloadStopped(f"{error}; run the same command later to resume") from None
            sleep(unanswered)
            continue
        except ExchangeRefused as refusal:
            raise DownloadStopped(str(refusal)) from None
        unanswered = 0
        closed = [row for row in rows if int(row[6]) < now_ms and int(row[0]) <= to_ms]
        if not closed:
            return
        yield kline_frame(closed)
        after = int(closed[-1][0]) + length
        if len(rows) < PAGE:
            return
