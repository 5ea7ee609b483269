"""SignalFrame.build (one compiled pass) and its reasons (made when read): the frame is the
one the numpy formulation gives, and the reasons read like the object array they were."""

import numpy as np
import pytest

from botdesk.engine.frames import BUY, NO_SIGNAL, SELL, Reasons, SignalFrame
from botdesk.engine.strategies.safe import _first_bad_row


def _numpy_build(length, buy, sell, confidence, stop, take_profit, buy_reason, sell_reason):
    """What build did before it was compiled (numpy, an object array of reasons)."""
    side = np.zeros(length, dtype=np.int8)
    side[buy], side[sell] = BUY, SELL
    is_buy = side == BUY
    reason = np.full(length, "", dtype=object)
    for mask, text in ((is_buy, buy_reason), (side == SELL, sell_reason)):
        reason[mask] = text if isinstance(text, str) else np.asarray(text, dtype=object)[mask]
    return (
        side,
        np.where(side != NO_SIGNAL, np.clip(confidence, 0.0, 1.0), 0.0),
        np.where(is_buy, np.nan if stop is None else stop, np.nan),
        np.where(is_buy, np.nan if take_profit is None else take_profit, np.nan),
        reason,
    )


@pytest.mark.parametrize("seed", range(5))
def test_build_is_the_numpy_formulation(seed):
    rng = np.random.default_rng(seed)
    length = 500
    buy, sell = rng.random(length) < 0.2, rng.random(length) < 0.2  # some rows both
    confidence = rng.uniform(-0.5, 1.5, length)
    stop = None if seed % 2 else rng.uniform(1, 2, length)
    take_profit = rng.uniform(3, 4, length) if seed % 3 == 0 else None
    texts = np.array([f"row {i}" for i in range(length)], dtype=object)
    buy_reason, sell_reason = ("up", texts) if seed % 2 else (texts, "down")
    frame = SignalFrame.build(
        length, buy=buy, sell=sell, confidence=confidence, stop=stop,
        take_profit=take_profit, buy_reason=buy_reason, sell_reason=sell_reason,
    )  # fmt: skip
    side, clipped, stops, targets, reasons = _numpy_build(
        length, buy, sell, confidence, stop, take_profit, buy_reason, sell_reason
    )
    assert np.array_equal(frame.side, side) and frame.side.dtype == np.int8
    assert np.array_equal(frame.confidence, clipped)
    assert np.array_equal(frame.stop, stops, equal_nan=True)
    assert np.array_equal(frame.take_profit, targets, equal_nan=True)
    assert list(np.asarray(frame.reason)) == list(reasons)
    assert [frame.reason[i] for i in range(length)] == list(reasons)
    assert list(np.asarray(frame[100:200].reason)) == list(reasons[100:200])
    assert list(frame.reason[side != 0]) == list(reasons[side != 0])
    assert list(frame.to_pandas()["reason"]) == list(reasons)
    assert frame.reason[-1] == reasons[-1]


def test_scalars_and_empty_masks_and_lengths():
    frame = SignalFrame.build(4, buy=[True, False, False, False], sell=[], confidence=2)
    assert frame.side.tolist() == [1, 0, 0, 0] and frame.confidence.tolist() == [1, 0, 0, 0]
    with pytest.raises(ValueError, match="a column of 3 rows for a frame of 4"):
        SignalFrame.build(4, buy=[True, False, False], sell=[], confidence=1)
    assert isinstance(frame.reason, Reasons) and len(frame.reason) == 4


def test_the_compiled_check_finds_what_numpy_finds():
    close = np.array([10.0, 10.0, 10.0, 10.0])
    nan = np.full(4, np.nan)
    side = np.array([0, 1, -1, 1], dtype=np.int8)
    cases = [
        (SignalFrame(side, np.array([0, 1, 1, 2.0]), nan, nan, side), (2, 3)),
        (SignalFrame(side, np.array([0, 1, 1, 1.0]), np.array([0, 9, 0, 11.0]), nan, side), (3, 3)),
        (SignalFrame(side, np.ones(4), nan, np.array([0, 12, 0, 9.0]), side), (4, 3)),
        (SignalFrame(np.array([0, 2, 0, 0]), np.ones(4), nan, nan, side), (1, 1)),
        (SignalFrame(side, np.ones(4), nan, nan, side), (0, -1)),
    ]
    for frame, expected in cases:
        candles = type("Candles", (), {"close": close})()
        assert _first_bad_row(frame, candles) == expected
        listed = SignalFrame(
            *(
                np.asarray(c).tolist()
                for c in (frame.side, frame.confidence, frame.stop, frame.take_profit)
            ),
            frame.reason,
        )
        assert _first_bad_row(listed, candles)[0] == expected[0]  # the numpy fallback


def test_reasons_can_be_written_like_the_array():
    """A frame whose rows are filled from another (as the ML report does) keeps them."""
    model = SignalFrame.build(6, buy=False, sell=False, confidence=0)
    side = np.array([1, -1], dtype=np.int8)
    signals = SignalFrame.build(2, buy=side == 1, sell=side == -1, confidence=1,
                                buy_reason="up", sell_reason="down")  # fmt: skip
    at = np.array([1, 4])
    for name in ("side", "confidence", "stop", "take_profit", "reason"):
        getattr(model, name)[at] = getattr(signals, name)
    assert list(np.asarray(model.reason)) == ["", "up", "", "", "down", ""]
    assert model.reason[4] == "down" and list(model.reason[3:5]) == ["", "down"]
    model.reason[0] = "by hand"
    assert model.reason[0] == "by hand" and model.reason[1] == "up"
