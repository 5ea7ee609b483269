"""Purged and embargoed walk-forward validation: test a model only on candles whose
labels it could not have seen while training.

The samples (chronological, each at a candle position p, its label window the candles
p+1 .. p+horizon) are cut into `folds + 1` equal consecutive parts. Fold k (1..folds)
tests on part k and trains on the samples before it, less two kinds:

- **purged**: a training sample whose label window reaches the test window's first candle
  or later (p + horizon >= first test candle) is dropped: its label would tell the model
  what happened during the test;
- **embargoed**: so are the `embargo` candles before that (p + horizon >= first test
  candle - embargo): features of neighbouring candles overlap (a 24-candle return at t and
  at t+1 share 23 candles), so the last candles before a test window are near copies of
  its first ones.

Walk-forward: a model is only ever tested on what came after everything it learnt from;
the test windows, put end to end, are the out-of-sample span.
"""

from dataclasses import dataclass

import numpy as np


class ValidationError(ValueError):
    """Too few samples for the validation asked for; the message says why."""


@dataclass(frozen=True)
class Fold:
    number: int  # 1 .. folds
    train: np.ndarray  # sample indexes, ascending
    test: np.ndarray  # sample indexes, consecutive


def walk_forward(
    positions: np.ndarray, *, folds: int, horizon: int, embargo: int, min_train: int = 200
) -> list[Fold]:
    """The folds over samples at candle `positions` (ascending ints)."""
    positions = np.asarray(positions, dtype=np.int64)
    count = len(positions)
    if folds < 1:
        raise ValidationError("at least one fold is needed")
    bounds = np.linspace(0, count, folds + 2).astype(np.int64)
    result = []
    for number in range(1, folds + 1):
        start, end = int(bounds[number]), int(bounds[number + 1])
        first_candle = positions[start]
        train = np.flatnonzero(positions[:start] + horizon < first_candle - embargo)
        if len(train) < min_train or end <= start:
            raise ValidationError(
                f"fold {number} would train on {len(train)} samples (at least {min_train} "
                f"are needed) and test on {end - start}: use fewer folds or more history "
                f"({count} labelled candles with features)"
            )
        result.append(Fold(number, train, np.arange(start, end)))
    return result
