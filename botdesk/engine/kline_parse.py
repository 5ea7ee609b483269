"""The plainest kline files parsed by one compiled pass over their bytes (numba), before
pyarrow's reader is asked (`botdesk.engine.kline_columns`).

Plain here means: one row per line ("\\n" or "\\r\\n"), each with the header's number of
fields, no quotes and no byte past ASCII; the columns read are whole numbers (times:
digits only) and decimals of digits with at most one point, digits on both sides of it
(no sign, no exponent, no spaces), at most 18 digits in all. Such a decimal m / 10**k
(m < 2**53, k <= 22) is the quotient of two exact floats, which one division rounds
correctly, as Python's float() and pyarrow do: the same float. Anything else, anywhere in
the file, and `parse_plain` answers None: pyarrow's reader (or the line-by-line one) reads
the file as before, with its checks and its messages.
"""

import numpy as np
from numba import njit

SKIP, TIME = -1, 0  # a column's place in `wanted`; a read decimal column's is 1 + its index
MAX_DIGITS = 18  # 10**18 < 2**63: a run of digits that long fits an int64
EXACT = 2**53  # integers below it are exact floats
POWERS = np.array([10.0**k for k in range(23)])  # exact floats up to 1e22
COMMA, NEWLINE, RETURN, POINT, ZERO, NINE = (ord(c) for c in ",\n\r.09")


def parse_plain(
    data: bytes, start: int, header: list[str], time_column: str, columns: list[str], rows: int
) -> tuple[np.ndarray, dict] | None:
    """(times, {column: floats}) of the `rows` lines from byte `start` of a plain file
    (module docstring), or None when the file is not one."""
    wanted = np.full(len(header), SKIP, dtype=np.int64)
    wanted[header.index(time_column)] = TIME
    for index, name in enumerate(columns):
        wanted[header.index(name)] = 1 + index
    times = np.empty(rows, dtype=np.int64)
    values = np.empty((len(columns), rows), dtype=np.float64)
    read = _parse(np.frombuffer(data, dtype=np.uint8), start, wanted, times, values, POWERS)
    if read != rows:
        return None
    return times, {name: values[index] for index, name in enumerate(columns)}


@njit(cache=True)
def _parse(buffer, position, wanted, times, values, powers):
    """The rows read into times and values, or -1 at the first thing not plain."""
    end, fields, row = len(buffer), len(wanted), 0
    while position < end:
        if row >= len(times):
            return -1
        field = 0
        while True:
            column = wanted[field]
            if column == SKIP:
                while position < end:
                    byte = buffer[position]
                    if byte in (COMMA, NEWLINE, RETURN):
                        break
                    if byte == 34 or byte >= 128:  # a quote, or past ASCII
                        return -1
                    position += 1
            else:
                number, digits, places, point = 0, 0, 0, False
                while position < end:
                    byte = buffer[position]
                    if ZERO <= byte <= NINE:
                        number = number * 10 + (byte - ZERO)
                        digits += 1
                        places += point
                        if digits > MAX_DIGITS:
                            return -1
                    elif byte == POINT and not point and column != TIME and digits > 0:
                        point = True
                    else:
                        break
                    position += 1
                if digits == 0 or (point and places == 0):
                    return -1
                if column == TIME:
                    times[row] = number
                else:
                    if number >= EXACT:
                        return -1
                    values[column - 1, row] = number / powers[places]
            field += 1
            if position >= end:
                break
            byte = buffer[position]
            if byte == COMMA:
                if field >= fields:
                    return -1
                position += 1
                continue
            if byte == RETURN:
                position += 1
                if position >= end or buffer[position] != NEWLINE:
                    return -1
            if buffer[position] != NEWLINE:
                return -1
            position += 1
            break
        if field != fields:
            return -1
        row += 1
    return row
