"""The out-of-sample report: classification figures of the walk-forward predictions and
the backtest of the model's strategy beside baselines on the same candles.

Classification (over every test sample): accuracy; per class (sell, hold, buy) precision =
right / predicted as the class, recall = right / actually the class, F1 = their harmonic
mean (0 when both are 0), support = actual count; macro F1 = the mean of the three F1s;
the confusion matrix, rows the actual class and columns the predicted one, in the order
sell, hold, buy; and `majority_accuracy`, the accuracy of always answering the most
frequent class of the test samples (what "accuracy" has to beat to mean anything).

Backtests, all on the candles of the out-of-sample span (first to last test candle), with
the backtest's fill rules (signal at a close, order at the next open), fees and all-cash
sizing:

- `model`: BUY where the model predicts buy (with p(buy) >= min_confidence), SELL (exit)
  where it predicts sell, nothing on hold;
- `always_hold`: no trade at all;
- `buy_and_hold`: buy at the first candle's close, hold to the end;
- `ema_cross`: the ema_cross strategy with its default parameters (evaluated on the whole
  history loaded, so its EMAs are warm at the span's start).
"""

from dataclasses import asdict
from decimal import Decimal

import numpy as np

from botdesk.engine.backtest.metrics import measure
from botdesk.engine.backtest.simulate import simulate
from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.strategies import registry
from botdesk.ml.labels import BUY, CLASS_NAMES, CLASSES, SELL

BASELINES = ("always_hold", "buy_and_hold", "ema_cross")


def classification(actual: np.ndarray, predicted: np.ndarray) -> dict:
    actual, predicted = np.asarray(actual), np.asarray(predicted)
    confusion = [[int(((actual == a) & (predicted == p)).sum()) for p in CLASSES] for a in CLASSES]
    per_class = {}
    for k, value in enumerate(CLASSES):
        right = confusion[k][k]
        called = sum(row[k] for row in confusion)
        support = sum(confusion[k])
        precision = right / called if called else 0.0
        recall = right / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[CLASS_NAMES[value]] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support,
        }
    count = len(actual)
    supports = [per_class[CLASS_NAMES[v]]["support"] for v in CLASSES]
    return {
        "samples": count,
        "accuracy": float((actual == predicted).mean()) if count else 0.0,
        "majority_accuracy": max(supports) / count if count else 0.0,
        "macro_f1": float(np.mean([per_class[name]["f1"] for name in per_class])),
        "per_class": per_class,
        "confusion": confusion,
    }


def model_signals(
    predicted: np.ndarray, probabilities: np.ndarray, min_confidence: float
) -> SignalFrame:
    p_buy = probabilities[:, CLASSES.index(BUY)]
    buy = (predicted == BUY) & (p_buy >= min_confidence)
    sell = predicted == SELL
    confidence = np.where(buy, p_buy, probabilities[:, CLASSES.index(SELL)])
    return SignalFrame.build(
        len(predicted),
        buy=buy,
        sell=sell,
        confidence=confidence,
        buy_reason="model predicts buy",
        sell_reason="model predicts sell",
    )


def _figures(candles: CandleFrame, signals: SignalFrame, candle_ms: int, costs: dict) -> dict:
    simulation = simulate(candles, signals, **costs)
    metrics = asdict(measure(simulation, capital=costs["capital"], candle_ms=candle_ms))
    return {
        key: (str(value) if isinstance(value, Decimal) else value) for key, value in metrics.items()
    }


def backtests(
    history: CandleFrame,
    times: np.ndarray,
    signals: SignalFrame,
    *,
    candle_ms: int,
    fee_rate: Decimal = Decimal("0.001"),
    slippage_bps: Decimal = Decimal(0),
    capital: Decimal = Decimal(10000),
) -> dict:
    """The model's signals (one per prediction, at open times `times`) and the baselines,
    over the candles of `history` from times[0] to times[-1] (see the module docstring);
    a candle of the span without a prediction gets no signal."""
    first = int(np.searchsorted(history.open_time_ms, times[0]))
    last = int(np.searchsorted(history.open_time_ms, times[-1]))
    span = history[first : last + 1]
    at = np.searchsorted(span.open_time_ms, times)
    if not np.array_equal(span.open_time_ms[at], times):
        raise ValueError("a prediction's candle is not in the history")
    model = SignalFrame.build(len(span), buy=False, sell=False, confidence=0)
    for name in ("side", "confidence", "stop", "take_profit", "reason"):
        getattr(model, name)[at] = getattr(signals, name)
    costs = {"fee_rate": fee_rate, "slippage_bps": slippage_bps, "capital": capital}
    nothing = np.zeros(len(span), dtype=bool)
    first_candle = nothing.copy()
    first_candle[0] = True
    hold = SignalFrame.build(len(span), buy=nothing, sell=nothing, confidence=0)
    buy_and_hold = SignalFrame.build(len(span), buy=first_candle, sell=nothing, confidence=1)
    ema = registry.create("ema_cross").signals(history)[first : last + 1]
    return {
        "span": {
            "from_ms": int(span.open_time_ms[0]),
            "to_ms": int(span.open_time_ms[-1]),
            "candles": len(span),
            "predicted": len(times),
        },
        "costs": {key: str(value) for key, value in costs.items()},
        "model": _figures(span, model, candle_ms, costs),
        "always_hold": _figures(span, hold, candle_ms, costs),
        "buy_and_hold": _figures(span, buy_and_hold, candle_ms, costs),
        "ema_cross": _figures(span, ema, candle_ms, costs),
    }
