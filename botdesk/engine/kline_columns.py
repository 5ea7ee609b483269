"""A kline file's columns read at C speed when the file is plain: by one compiled pass
(`botdesk.engine.kline_parse`) when it is plainest, else by pyarrow's CSV reader.

Plain means: ASCII, one candle per line with no blank line in between, every field of the
required columns a number pyarrow and Python read alike, every price finite. Then the
columns are exactly those the line-by-line reader of `botdesk.engine.klines` gets, and
row i is on line i + 2. For anything else `read_columns` answers None and that reader
reads the file, so a bad file is refused with the same message, naming the same line.
Where the two parsers differ (hexadecimal times, which pyarrow takes), None as well.
"""

import numpy as np
import pyarrow as pa
from pyarrow import csv as pa_csv

from botdesk.engine.frames import PRICE_COLUMNS

TIME_COLUMN = "open_time_ms"
COLUMN_TYPES = {TIME_COLUMN: pa.int64(), **dict.fromkeys(PRICE_COLUMNS, pa.float64())}


def read_columns(
    data: bytes, header: list[str], flow_columns: list[str] = ()
) -> tuple[np.ndarray, dict, dict] | None:
    """(open times, {price column: values}, {flow column: values}) of the rows after the
    header line, or None. A flow column must be complete and valid here (a whole number at
    or above 0 for `trades`, at or above 0 for the volumes): an empty cell or a bad value
    is left to the careful reader, which knows what to say."""
    if not data.isascii():
        return None
    body = data.find(b"\n") + 1
    if body == 0 or len(set(header)) != len(header):
        return None
    lines = data.count(b"\n", body) + (0 if data.endswith(b"\n") else 1)
    if lines == 0:
        return None
    from botdesk.engine.kline_parse import parse_plain  # numba, loaded when first used

    plain = parse_plain(data, body, header, TIME_COLUMN, [*PRICE_COLUMNS, *flow_columns], lines)
    if plain is not None:
        times, values = plain
        prices = {name: values[name] for name in PRICE_COLUMNS}
        flow = {name: values[name] for name in flow_columns}
        return (times, prices, flow) if _whole_trades(flow) else None
    if data.find(b"x", body) >= 0 or data.find(b"X", body) >= 0:
        return None
    try:
        table = pa_csv.read_csv(
            pa.py_buffer(data),
            read_options=pa_csv.ReadOptions(skip_rows=1, column_names=header),
            parse_options=pa_csv.ParseOptions(ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                include_columns=[TIME_COLUMN, *PRICE_COLUMNS, *flow_columns],
                column_types={**COLUMN_TYPES, **dict.fromkeys(flow_columns, pa.float64())},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != lines or table.num_rows == 0:
        return None
    times = table.column(TIME_COLUMN).to_numpy()
    prices = {name: table.column(name).to_numpy() for name in PRICE_COLUMNS}
    if not all(np.isfinite(values).all() for values in prices.values()):
        return None
    flow = {name: table.column(name).to_numpy() for name in flow_columns}
    if not all((np.isfinite(values) & (values >= 0)).all() for values in flow.values()):
        return None
    return (times, prices, flow) if _whole_trades(flow) else None


def _whole_trades(flow: dict) -> bool:
    trades = flow.get("trades")
    return trades is None or bool((trades == np.floor(trades)).all())
