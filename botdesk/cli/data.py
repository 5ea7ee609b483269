"""`botdesk data import|download`: candle history into the candle table, from a kline
file or from Binance's public klines, for the analysis and the backtests."""

import time

import click

from botdesk.cli.common import checked_symbol, database, quiet_logging, settings, utc_ms
from botdesk.engine.feeds.binance_history import DownloadStopped, public_rest
from botdesk.engine.history import HistoryError, Stored, download, import_file
from botdesk.engine.klines import KlineFileError, format_ms
from botdesk.engine.timeframes import FILE_INTERVALS, timeframe_ms

TIMEFRAME = click.Choice(list(FILE_INTERVALS))


def _span(stored: Stored) -> str:
    if stored.first_ms is None:
        return ""
    return f" from {format_ms(stored.first_ms)} to {format_ms(stored.last_ms)}"


@click.group("data")
def data() -> None:
    """Store candle history: from a kline CSV file or from Binance's public klines."""


@data.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--symbol", required=True, callback=checked_symbol, help="e.g. BTCUSDT.")
@click.option("--timeframe", type=TIMEFRAME, required=True, help="The file's candle interval.")
@click.option(
    "--higher/--no-higher",
    default=True,
    show_default=True,
    help="Also store the longer timeframes (up to 4h) built from the file's candles.",
)
def import_command(path: str, symbol: str, timeframe: str, higher: bool) -> None:
    """Load the kline CSV file PATH into the candle table.

    Binance's column layout, with or without a header row, with or without the extra
    fields (quote volume, trades, taker-buy volumes). The whole file is checked first:
    the first bad line stops the import, named, and nothing is stored. Candles already
    stored are replaced by the file's.
    """
    quiet_logging()
    try:
        stored = import_file(database(), path, symbol=symbol, timeframe=timeframe, higher=higher)
    except (KlineFileError, HistoryError) as error:
        raise click.ClickException(f"{error}; nothing was imported") from None
    click.echo(
        f"imported {stored.count} {timeframe} candles of {symbol}{_span(stored)} "
        f"({stored.new} new, {stored.count - stored.new} replaced)"
    )
    for name, count in stored.higher.items():
        click.echo(f"  and {count} {name} candles built from them")
    for gap in stored.gaps:
        click.echo(
            f"  gap: {gap.missing} candle{'s' if gap.missing != 1 else ''} missing between "
            f"{format_ms(gap.after_ms)} and "
            f"{format_ms(gap.before_ms)} (line {gap.line}), as the source has it"
        )


@data.command("download")
@click.option("--symbol", required=True, callback=checked_symbol, help="e.g. BTCUSDT.")
@click.option("--timeframe", type=TIMEFRAME, required=True, help="Candle interval.")
@click.option("--from", "from_", required=True, help="First open time, ISO 8601 (UTC).")
@click.option("--to", default=None, help="Last open time, ISO 8601 (UTC); default: now.")
def download_command(symbol: str, timeframe: str, from_: str, to: str | None) -> None:
    """Fetch Binance's public klines into the candle table (no key needed).

    1000 candles per request, pausing when Binance's request weight for the minute
    (X-MBX-USED-WEIGHT-1M) nears its limit or Binance asks to wait. Candles already
    stored are not fetched again: an interrupted download resumes at the first candle of
    the range that is missing. BOTDESK_BINANCE_MARKET_DATA and BOTDESK_BINANCE_REST_URL
    choose the host.
    """
    quiet_logging()
    from_ms = utc_ms(from_, "--from")
    to_ms = utc_ms(to, "--to") if to is not None else int(time.time() * 1000)
    if to_ms < from_ms:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    config = settings()
    rest = public_rest(
        testnet=config.BINANCE_MARKET_DATA == "testnet",
        rest_url=config.BINANCE_REST_URL,
        timeout=config.BINANCE_TIMEOUT_SECONDS,
    )
    expected = (to_ms - from_ms) // timeframe_ms(timeframe) + 1

    def waiting(seconds: float, why: str) -> None:
        click.echo(f"\n{why}: waiting {seconds:.0f} s", err=True)

    with click.progressbar(
        length=expected, label=f"{symbol} {timeframe}", file=click.get_text_stream("stderr")
    ) as bar:
        try:
            stored = download(
                database(),
                rest,
                symbol=symbol,
                timeframe=timeframe,
                from_ms=from_ms,
                to_ms=to_ms,
                on_page=lambda page: bar.update(len(page)),
                on_wait=waiting,
            )
        except DownloadStopped as stopped:
            raise click.ClickException(f"download stopped: {stopped}") from None
    if not stored.count:
        click.echo(f"nothing to fetch: every {timeframe} candle of {symbol} in the range is stored")
        return
    click.echo(
        f"downloaded {stored.count} {timeframe} candles of {symbol}{_span(stored)} "
        f"({stored.new} new)"
    )
