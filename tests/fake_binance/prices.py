"""Market data: price paths from the real Binance klines in ../shared/data (see its
README), and the klines endpoint's answer (closed candles only, aggregated on request).

The 5m files carry Binance's extra kline fields (quote volume, trades, taker-buy volumes)
and are served with them; the 1m and 1h files have OHLCV only, and their extra fields are
answered as null rather than made up (Binance itself always sends them)."""

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from tests.fake_binance.models import INTERVALS, BinanceError, Kline, PricePath, mandatory, text

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
FLOW = {
    "quote_volume": Decimal,
    "trades": int,
    "taker_buy_base_volume": Decimal,
    "taker_buy_quote_volume": Decimal,
}


def flow_text(value) -> str | int | None:
    """An extra kline field as Binance writes it (None stays None: unknown)."""
    if value is None or isinstance(value, int):
        return value
    return text(value)


def load_klines(name: str, count: int | None = None, start: int = 0) -> list[Kline]:
    """`count` candles from row `start` of a shared klines file; skips the test when absent."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"shared market data {path} is not on this machine")
    candles = []
    with path.open(newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if number < start:
                continue
            if count is not None and len(candles) >= count:
                break
            candles.append(
                Kline(
                    open_time=int(row["open_time_ms"]),
                    open=Decimal(row["open"]),
                    high=Decimal(row["high"]),
                    low=Decimal(row["low"]),
                    close=Decimal(row["close"]),
                    volume=Decimal(row["volume"]),
                    **{name: parse(row[name]) for name, parse in FLOW.items() if name in row},
                )
            )
    return candles


def query_limit(params: dict, default: int = 500, most: int = 1000) -> int:
    raw = params.get("limit", default)
    try:
        limit = int(raw)
    except (TypeError, ValueError):
        raise BinanceError(-1100, "Illegal characters found in parameter 'limit'.") from None
    if not 1 <= limit <= most:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    return limit


def query_int(params: dict, name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def kline_rows(path: PricePath, params: dict) -> list[list]:
    interval = params.get("interval")
    if not interval:
        raise mandatory("interval")
    if interval not in INTERVALS or INTERVALS[interval] % path.interval:
        raise BinanceError(-1120, "Invalid interval.")
    candles = _aggregate(path.closed(), path.interval, INTERVALS[interval])
    start, end, limit = (
        query_int(params, "startTime"),
        query_int(params, "endTime"),
        query_limit(params),
    )
    chosen = [
        k
        for k in candles
        if (start is None or k.open_time >= start) and (end is None or k.open_time <= end)
    ]
    chosen = chosen[:limit] if start is not None else chosen[-limit:]
    width = INTERVALS[interval]
    return [
        [
            k.open_time,
            text(k.open),
            text(k.high),
            text(k.low),
            text(k.close),
            text(k.volume),
            k.open_time + width - 1,
            *(flow_text(getattr(k, name)) for name in FLOW),
            "0",
        ]
        for k in chosen
    ]


def _aggregate(candles: list[Kline], base: int, width: int) -> list[Kline]:
    """Base candles grouped into `width` candles; only complete ones (closed) are kept."""
    if width == base:
        return candles
    per = width // base
    groups: dict[int, list[Kline]] = {}
    for candle in candles:
        groups.setdefault(candle.open_time // width * width, []).append(candle)
    return [
        Kline(
            open_time=start,
            open=group[0].open,
            high=max(k.high for k in group),
            low=min(k.low for k in group),
            close=group[-1].close,
            volume=sum((k.volume for k in group), Decimal(0)),
            **{name: _sum([getattr(k, name) for k in group]) for name in FLOW},
        )
        for start, group in groups.items()
        if len(group) == per
    ]


def _sum(values: list):
    """The sum of a field over a group; unknown if any part is."""
    return None if any(value is None for value in values) else sum(values)
