"""Kline CSV loading: every real file loads; every kind of bad file is refused, naming the line."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from botdesk.engine.klines import KlineFileError, load_klines
from botdesk.engine.sample_data import sample_file, sample_files
from tests.conftest import SHARED_DATA

HEADER = "open_time_ms,open,high,low,close,volume\n"
GOOD_ROWS = [
    "1730073600000,68021.69,68061.99,68021.69,68061.06,32.9321",
    "1730073660000,68061.06,68061.07,68032,68032.01,16.47551",
    "1730073720000,68032,68049.21,68032,68045.99,6.57712",
    "1730073780000,68046,68090.91,68045.99,68053.46,13.09724",
]


def write(tmp_path: Path, rows: list[str], header: str = HEADER, name="BTCUSDT-1m.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def refused(path: Path, **options) -> KlineFileError:
    with pytest.raises(KlineFileError) as error:
        load_klines(path, **options)
    return error.value


def test_the_bundled_sample_is_three_symbols_of_a_week_of_real_1m_klines():
    assert sorted(sample_files()) == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    for symbol in sample_files():
        klines = load_klines(sample_file(symbol))
        assert klines.symbol == symbol
        assert klines.interval == "1m"
        assert len(klines.candles) == 7 * 1440
        assert klines.gaps == []
    btc = load_klines(sample_file("BTCUSDT")).candles
    assert btc.open_time_ms[0] == 1730073600000  # 2024-10-28 00:00 UTC
    assert str(btc.row(0)["close"]) == "68061.06000000"  # exact decimal, not a float echo


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_every_kline_file_in_the_shared_data_loads_with_its_real_gaps():
    files = sorted(p for p in SHARED_DATA.glob("*.csv") if "trades" not in p.name)
    assert len(files) == 12
    for path in files:
        klines = load_klines(path)
        assert klines.interval == path.stem.split("-")[1]
        if klines.interval == "1h":
            # the five Binance outages documented in ../shared/data/README.md
            assert [gap.missing for gap in klines.gaps] == [2, 3, 4, 2, 1]
        else:
            assert klines.gaps == []
    five = load_klines(SHARED_DATA / "BTCUSDT-5m.csv")  # extra Binance columns are ignored
    assert len(five.candles) == 8639


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_a_trades_file_is_not_a_kline_file():
    error = refused(SHARED_DATA / "BTCUSDT-trades-sample.csv")
    assert "missing column(s) open_time_ms, open, high, low, close, volume" in str(error)
    assert error.line == 1


def test_missing_columns_are_named(tmp_path):
    header = "open_time_ms,open,high,low,close\n"
    path = write(tmp_path, ["1730073600000,1,2,0.5,1.5"], header=header)
    error = refused(path)
    assert "missing column(s) volume" in str(error)
    assert "found open_time_ms,open,high,low,close" in str(error)


def test_unsorted_rows_name_the_line(tmp_path):
    rows = [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]]
    error = refused(write(tmp_path, rows))
    assert error.line == 4
    assert "is earlier than line 3's" in str(error)
    assert "must be sorted by open time" in str(error)


def test_duplicates_name_both_lines(tmp_path):
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[1], GOOD_ROWS[2]]
    error = refused(write(tmp_path, rows))
    assert error.line == 4
    assert "duplicate open time 1730073660000" in str(error)
    assert "already on line 3" in str(error)


def test_a_long_gap_is_refused_a_short_one_reported(tmp_path):
    later = "1730095200000,68046,68090.91,68045.99,68053.46,13.09724"  # six hours later
    path = write(tmp_path, [*GOOD_ROWS, later])
    error = refused(path, max_gap_ms=3_600_000)
    assert error.line == 6
    assert "gap of 5h 56m (356 candles missing)" in str(error)
    assert "at most 1h is allowed" in str(error)
    klines = load_klines(path)  # the default tolerance accepts an outage of a few hours
    assert [(gap.line, gap.missing) for gap in klines.gaps] == [(6, 356)]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1730073840000,68053.46,abc,68033.05,68033.05,3.29", "high 'abc' is not a number"),
        ("1730073840000,68053.46,68053.47,68033.05,nan,3.29", "close 'nan' is not a finite number"),
        ("1730073840000,68053.46,68053.47,68033.05,68033.05", "5 fields where the header has 6"),
        ("17300738400x0,68053.46,68053.47,68033.05,68033.05,3", "is not a whole number"),
        ("1730073840000,68053.46,68000,68033.05,68033.05,3.29", "high 68000 is below the open"),
        ("1730073840000,68053.46,68060,68055,68033.05,3.29", "low 68055 is above the open"),
        ("1730073840000,0,68060,0,68033.05,3.29", "open 0 is not above 0"),
        ("1730073840000,68053.46,68060,68033.05,68033.05,-1", "volume -1 is negative"),
        ("1730073840001,68053.46,68060,68033.05,68033.05,1", "is not on a 1m boundary"),
    ],
)
def test_garbage_is_refused_naming_the_line(tmp_path, row, message):
    error = refused(write(tmp_path, [*GOOD_ROWS, row]))
    assert message in str(error)
    assert error.line == 6
    assert "BTCUSDT-1m.csv, line 6" in str(error)


def test_empty_missing_and_mislabelled_files(tmp_path):
    assert "no such file" in str(refused(tmp_path / "nope.csv"))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty" in str(refused(empty))
    assert "no candles" in str(refused(write(tmp_path, [], name="x.csv")))
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage")
    assert "not a text (UTF-8) CSV" in str(refused(binary))
    wrong = write(tmp_path, GOOD_ROWS, name="BTCUSDT-1h.csv")
    assert "the name says 1h candles but they are 1m apart" in str(refused(wrong))


def test_prices_keep_every_decimal_of_the_file(tmp_path):
    row = "1730073840000,0.00001234,0.00001299,0.00001201,0.00001250,123456789.12345678"
    klines = load_klines(write(tmp_path, [*GOOD_ROWS, row]))
    last = klines.candles.row(len(klines.candles) - 1)
    assert str(last["open"]) == "0.00001234"
    assert str(last["volume"]) == "123456789.12345678"
    assert np.all(np.diff(klines.candles.open_time_ms) == 60_000)


def _columns(klines) -> list:
    frame = klines.candles
    return [getattr(frame, n).tolist() for n in ("open_time_ms", "open", "high", "low", "close")]


def test_what_the_fast_reader_leaves_to_the_careful_one_loads_the_same(tmp_path):
    """Blank lines, CRLF, a BOM, quotes, spaces, extra columns with text: the same candles."""
    plain = load_klines(write(tmp_path, GOOD_ROWS, name="BTCUSDT-1m.csv"))
    variants = {
        "blank": HEADER + GOOD_ROWS[0] + "\n\n" + "\n".join(GOOD_ROWS[1:]) + "\n\n",
        "crlf": (HEADER + "\n".join(GOOD_ROWS)).replace("\n", "\r\n"),
        "bom": "\ufeff" + HEADER + "\n".join(GOOD_ROWS),
        "quoted": HEADER
        + "\n".join(f'"{r.split(",")[0]}",{r.split(",", 1)[1]}' for r in GOOD_ROWS),
        "spaces": HEADER + "\n".join(r.replace(",", ", ") for r in GOOD_ROWS),
        "text": HEADER.replace("volume", "volume,note") + "\n".join(f"{r},ok é" for r in GOOD_ROWS),
    }
    for name, text in variants.items():
        path = tmp_path / name / "BTCUSDT-1m.csv"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
        assert _columns(load_klines(path)) == _columns(plain), name


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0x10,68053.46,68053.47,68033.05,68033.05,3.29", "is not a whole number"),
        ("1730073840000,68053.46,TRUE,68033.05,68033.05,3.29", "high 'TRUE' is not a number"),
        ("1730073840000.0,68053.46,68053.47,68033.05,68033.05,3", "is not a whole number"),
        ("1730073840000,68053.46,68053.47,68033.05,68033.05,NA", "volume 'NA' is not a number"),
        ("1730073840000,68053.46,68053.47,68033.05,68033.05,", "volume '' is not a number"),
        ("1730073840000,68053.46,68053.47,68033.05,inf,3.29", "close 'inf' is not a finite"),
        ("1730073840000,68053.46,68053.47,68033.05,68033.05,3,4", "7 fields where the header"),
    ],
)
def test_values_the_fast_reader_would_take_otherwise_are_refused_as_before(tmp_path, row, message):
    """pyarrow reads 0x10 as 16 and pandas "TRUE" as 1: botdesk refuses both, naming the line."""
    error = refused(write(tmp_path, [*GOOD_ROWS, row]))
    assert message in str(error)
    assert error.line == 6


def test_a_bad_row_after_a_blank_line_is_named_by_its_own_line(tmp_path):
    path = tmp_path / "BTCUSDT-1m.csv"
    bad = "1730073840000,68053.46,abc,68033.05,68033.05,3.29"
    path.write_text(HEADER + "\n".join(GOOD_ROWS[:2]) + "\n\n\n" + "\n".join([*GOOD_ROWS[2:], bad]))
    error = refused(path)
    assert error.line == 8
    assert "high 'abc' is not a number" in str(error)


def test_invalid_utf8_in_an_ignored_column_is_still_refused(tmp_path):
    path = tmp_path / "BTCUSDT-1m.csv"
    rows = [f"{row},x".encode() for row in GOOD_ROWS]
    rows[2] = rows[2][:-1] + b"\xff"
    path.write_bytes(HEADER.replace("volume", "volume,note").encode() + b"\n".join(rows))
    assert "not a text (UTF-8) CSV" in str(refused(path))


def test_a_file_read_again_is_not_read_again_until_it_changes(tmp_path):
    import os

    path = write(tmp_path, GOOD_ROWS)
    first = load_klines(path)
    first.candles.close[0] = 1.0  # the caller's own copy: the kept candles stay as read
    stamp = path.stat()
    # same size, same modification time: taken for the same file, so not read again
    path.write_text(
        path.read_text().replace("68021.69,68061.99,68021.69", "68021.68,68061.99,68021.68")
    )
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    again = load_klines(path)
    assert again.candles.open[0] == 68021.69 and again.candles.close[0] == 68061.06
    assert again.candles.close.flags.writeable and again.candles.close is not first.candles.close
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 1_000_000))  # touched: read
    assert load_klines(path).candles.open[0] == 68021.68
    path.write_text(HEADER + "\n".join(GOOD_ROWS[:3]) + "\n")
    assert len(load_klines(path).candles) == 3


# Binance's kline layout without a header: the first two 5m candles of ETHUSDT-5m.csv
# (2025-08-19 15:10 and 15:15 UTC), with Binance's trailing "ignore" field
BINANCE_ROWS = [
    "1755616200000,4194.1,4196.41,4184.53,4186.51,4454.1483,1755616499999,18664809.37035,"
    "28471,2161.8649,9059623.950259,0",
    "1755616500000,4186.51,4200.01,4176.58,4191.72,14266.7091,1755616799999,59843381.48062,"
    "38615,7304.8743,30644259.425704,0",
]


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_the_extra_binance_fields_are_kept_when_the_file_has_them():
    eth = load_klines(SHARED_DATA / "ETHUSDT-5m.csv").candles
    first = eth.row(0)  # 1755616200000,...,18664809.37035,28471,2161.8649,9059623.950259
    assert str(first["quote_volume"]) == "18664809.37035000"
    assert first["trades"] == 28471
    assert str(first["taker_buy_base_volume"]) == "2161.86490000"
    assert str(first["taker_buy_quote_volume"]) == "9059623.95025900"
    assert eth.has_flow and not np.isnan(eth.taker_buy_base_volume).any()
    assert not load_klines(SHARED_DATA / "ETHUSDT-1m.csv").candles.has_flow


def test_a_file_without_a_header_is_read_in_binances_order(tmp_path):
    path = tmp_path / "ETHUSDT-5m.csv"
    path.write_text("\n".join(BINANCE_ROWS) + "\n")
    klines = load_klines(path)
    assert klines.interval == "5m"
    row = klines.candles.row(1)
    assert str(row["close"]) == "4191.72000000"
    assert row["trades"] == 38615
    assert str(row["taker_buy_base_volume"]) == "7304.87430000"
    ohlcv_only = tmp_path / "ETHUSDT_5m.csv"
    ohlcv_only.write_text("\n".join(r.split(",1755616")[0] for r in BINANCE_ROWS) + "\n")
    assert not load_klines(ohlcv_only).candles.has_flow


def test_microsecond_open_times_and_binances_own_column_names(tmp_path):
    header = (
        "open_time,open,high,low,close,volume,close_time,quote_asset_volume,"
        "number_of_trades,taker_buy_base_asset_volume,taker_buy_quote_asset_volume,ignore\n"
    )
    rows = [row.replace("00000,", "00000000,", 1) for row in BINANCE_ROWS]  # in microseconds
    klines = load_klines(write(tmp_path, rows, header=header, name="ETHUSDT-5m.csv"))
    assert klines.candles.open_time_ms.tolist() == [1755616200000, 1755616500000]
    assert klines.candles.row(0)["trades"] == 28471


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        ("18664809.37,28471.5,2161.8649,9059623.95", "trades '28471.5' is not a whole number"),
        ("18664809.37,28471,-1,9059623.95", "taker_buy_base_volume '-1' is not at or above 0"),
        ("18664809.37,x,2161.8649,9059623.95", "trades 'x' is not a number"),
        ("18664809.37,28471,4454.2,9059623.95", "taker_buy_base_volume 4454.2 is above the volume"),
    ],
)
def test_bad_extra_fields_are_refused_naming_the_line(tmp_path, cells, message):
    header = "open_time_ms,open,high,low,close,volume,quote_volume,trades,"
    header += "taker_buy_base_volume,taker_buy_quote_volume\n"
    good = "1755616500000,4186.51,4200.01,4176.58,4191.72,14266.7091,59843381.48,38615,7304.87,3e7"
    bad = f"1755616800000,4194.1,4196.41,4184.53,4186.51,4454.1483,{cells}"
    error = refused(write(tmp_path, [good, bad], header=header, name="ETHUSDT-5m.csv"))
    assert message in str(error)
    assert error.line == 3


def test_an_empty_extra_field_is_unknown_for_that_candle_only(tmp_path):
    header = "open_time_ms,open,high,low,close,volume,taker_buy_base_volume\n"
    rows = [f"{row},{taker}" for row, taker in zip(GOOD_ROWS, ["1.5", "", "2", "0"], strict=True)]
    frame = load_klines(write(tmp_path, rows, header=header)).candles
    assert [frame.row(i)["taker_buy_base_volume"] for i in range(4)] == [
        Decimal("1.5"),
        None,
        Decimal("2"),
        Decimal("0"),
    ]
    assert frame.row(0)["trades"] is None


def _parsed(data: bytes, columns=("open", "high", "low", "close", "volume")):
    from botdesk.engine.kline_parse import parse_plain

    header = data[: data.find(b"\n")].decode().strip().split(",")
    body = data.find(b"\n") + 1
    rows = data.count(b"\n", body) + (0 if data.endswith(b"\n") else 1)
    return parse_plain(data, body, header, "open_time_ms", list(columns), rows)


@pytest.mark.skipif(not SHARED_DATA.exists(), reason="../shared/data is absent")
def test_the_compiled_pass_reads_what_pyarrow_and_float_read():
    """Every kline file of the shared data, and decimals of every length: the compiled
    pass gives pyarrow's floats (and Python's float() of each text), to the bit."""
    import pyarrow as pa
    from pyarrow import csv as pa_csv

    for path in sorted(SHARED_DATA.glob("*USDT-*[mh].csv")):
        data = path.read_bytes()
        times, values = _parsed(data)
        table = pa_csv.read_csv(pa.py_buffer(data))
        assert np.array_equal(times, table.column("open_time_ms").to_numpy()), path.name
        for name, column in values.items():
            assert np.array_equal(column, table.column(name).to_numpy()), (path.name, name)
    rng = np.random.default_rng(3)
    texts = [
        f"{rng.integers(0, 10**5)}.{rng.integers(0, 10**places):0{places}d}"
        for places in rng.integers(1, 11, 20_000)
    ] + ["0", "7", "00012.50", "99999.9999999999"]
    data = HEADER + "\n".join(f"{i * 60_000},{t},{t},{t},{t},{t}" for i, t in enumerate(texts))
    times, values = _parsed(data.encode())
    assert np.array_equal(values["close"], np.array([float(text) for text in texts]))
    assert np.array_equal(times, 60_000 * np.arange(len(texts)))


@pytest.mark.parametrize(
    "cell", ["6.8e4", "+68053.46", "68053.", ".5", "68053.4600000000000001", '"68053.46"', " 1"]
)
def test_what_the_compiled_pass_leaves_to_pyarrow_loads_as_before(tmp_path, cell):
    """A number the compiled pass does not read (an exponent, a sign, a bare point, more
    than 18 digits, quotes, a space) sends the file to pyarrow's reader or the careful
    one: the same candles as float() of the text, or the same refusal."""
    row = f"1730073840000,68053.46,68060,68033.05,68033.05,{cell}"
    path = write(tmp_path, [*GOOD_ROWS, row])
    assert _parsed(path.read_bytes()) is None
    try:
        volume = load_klines(path).candles.volume[-1]
    except KlineFileError as error:
        assert error.line == 6 and "volume" in str(error)
    else:
        assert volume == float(cell.strip('"'))
