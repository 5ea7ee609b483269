"""The real Binance 1m klines bundled in the package (see botdesk/data/README.md)."""

from pathlib import Path

import botdesk

SAMPLE_FOLDER = Path(botdesk.__file__).resolve().parent / "data"


class UnknownSampleSymbol(ValueError):
    """No bundled sample for this symbol."""


def sample_files() -> dict[str, Path]:
    """Symbol -> bundled 1m kline file."""
    return {path.name.split("-")[0]: path for path in sorted(SAMPLE_FOLDER.glob("*-1m.csv"))}


def sample_file(symbol: str) -> Path:
    files = sample_files()
    try:
        return files[symbol.upper()]
    except KeyError:
        raise UnknownSampleSymbol(
            f"no bundled sample for {symbol}; the sample has {', '.join(files)}"
        ) from None
