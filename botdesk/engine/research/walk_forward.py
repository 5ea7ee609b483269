"""Walk-forward analysis: the history cut into windows, each optimised in sample (its
training candles only) and traded out of sample on the candles that follow, with the
parameters the training chose; the out-of-sample results stitched into one equity.

- Rolling windows: the training window keeps its length and moves by `step` candles;
  anchored: it starts at the first candle and grows by `step`. A test window follows its
  training window directly and never overlaps it; windows that would run past the data
  are left out.
- Each test backtest starts flat with the equity the previous one ended with (exact:
  the backtest's own final equity) and ends flat (a position open at its end closes at
  its last close, as any backtest's does), so the stitched equity is what one account
  trading window after window would have had. A test window starts without history
  before it: its strategy's first `lookback` candles give no signal.
- Walk-forward efficiency (Pardo): the annualised out-of-sample return of the stitched
  equity / the mean annualised in-sample return of the chosen trials; per window, the
  same ratio for that window. None where the in-sample return is not above 0.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import optuna

from botdesk.engine.backtest.data import History
from botdesk.engine.backtest.metrics import YEAR_MS, equity_curve
from botdesk.engine.backtest.runs import run_backtest
from botdesk.engine.research import objectives, studies
from botdesk.engine.research.studies import StudySettings
from botdesk.engine.timeframes import timeframe_ms


class WalkForwardError(ValueError):
    """The walk-forward cannot run as asked; the message says why."""


@dataclass(frozen=True)
class Window:
    index: int
    train_start: int  # candle indices into the history; ends exclusive
    train_end: int
    test_start: int
    test_end: int


def windows(
    count: int, *, train: int, test: int, step: int | None = None, anchored: bool = False
) -> list[Window]:
    """The windows over `count` candles (see the module docstring)."""
    step = step or test
    if train < 2 or test < 2 or step < 1:
        raise WalkForwardError("training and test windows need at least 2 candles each")
    found = []
    while True:
        k = len(found)
        train_start = 0 if anchored else k * step
        train_end = train + k * step
        test_end = train_end + test
        if test_end > count:
            break
        found.append(Window(k, train_start, train_end, train_end, test_end))
    if not found:
        raise WalkForwardError(
            f"{count} candles do not hold one training window of {train} and a test window "
            f"of {test}"
        )
    return found


def part(history: History, start: int, end: int) -> History:
    """The candles start..end-1 as a History of their own (its key is their dates)."""
    candles = history.candles[start:end]
    times = candles.open_time_ms
    return replace(history, from_ms=int(times[0]), to_ms=int(times[-1]), candles=candles)


def run(
    settings: StudySettings,
    history: History,
    cuts: list[Window],
    *,
    trials: int,
    progress: Callable[[float], None] | None = None,
) -> dict:
    """Optimise and test every window; the result as JSON-ready data."""
    capital = settings.capital
    candle_ms = timeframe_ms(settings.timeframe)
    rows, times, equity = [], [], []
    for window in cuts:
        train = part(history, window.train_start, window.train_end)
        test = part(history, window.test_start, window.test_end)
        trained = studies.with_window(settings, train.from_ms, train.to_ms)
        study = optuna.create_study(direction="maximize", sampler=studies.sampler_for(trained))
        studies.run_trials(study, trained, train, trials)
        best = studies.completed(study)
        row = {
            "window": window.index,
            "train_from_ms": train.from_ms,
            "train_to_ms": train.to_ms,
            "test_from_ms": test.from_ms,
            "test_to_ms": test.to_ms,
            "train_candles": len(train.candles),
            "test_candles": len(test.candles),
            "params": None,
            "in_sample": None,
            "out_of_sample": None,
            "efficiency": None,
        }
        if best:
            params = {**settings.fixed, **best[0].params}
            tested = replace(
                studies.with_window(settings, test.from_ms, test.to_ms), capital=capital
            )
            report = run_backtest(tested.request(params), history=test)
            found = objectives.figures(report)
            capital = report.metrics.final_equity
            times.append(test.candles.open_time_ms)
            equity.append(report.simulation.equity)
            in_sample = best[0].user_attrs["figures"]
            row.update(
                params=params,
                in_sample={**in_sample, "value": best[0].value},
                out_of_sample=found.as_dict(),
                efficiency=_efficiency(
                    found.total_return,
                    len(test.candles),
                    in_sample["total_return"],
                    len(train.candles),
                    candle_ms,
                ),
            )
        rows.append(row)
        if progress is not None:
            progress((window.index + 1) / len(cuts))
    return _stitched(settings, rows, times, equity, capital, candle_ms)


def _annualised(total_return: float, candles: int, candle_ms: int) -> float:
    return total_return * YEAR_MS / (candles * candle_ms)


def _efficiency(oos: float, oos_candles: int, ins: float, ins_candles: int, candle_ms: int):
    in_sample = _annualised(ins, ins_candles, candle_ms)
    if in_sample <= 0:
        return None
    return _annualised(oos, oos_candles, candle_ms) / in_sample


def _stitched(settings, rows, times, equity, capital, candle_ms) -> dict:
    tested = [row for row in rows if row["out_of_sample"]]
    figures = None
    curve = []
    if equity:
        all_times, all_equity = np.concatenate(times), np.concatenate(equity)
        curve = equity_curve(all_times, all_equity)
        total_return = float(capital / settings.capital - 1)
        peaks = np.maximum.accumulate(all_equity)
        returns = np.diff(all_equity) / all_equity[:-1]
        spread = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
        in_sample = [
            _annualised(row["in_sample"]["total_return"], row["train_candles"], candle_ms)
            for row in tested
        ]
        mean_in_sample = sum(in_sample) / len(in_sample)
        out_of_sample = _annualised(total_return, len(all_equity), candle_ms)
        trades = sum(row["out_of_sample"]["trades"] for row in tested)
        figures = {
            "windows": len(rows),
            "windows_tested": len(tested),
            "candles": len(all_equity),
            "trades": trades,
            "total_return": total_return,
            "max_drawdown": float((1 - all_equity / peaks).max()),
            "sharpe": float(returns.mean() / spread * math.sqrt(YEAR_MS / candle_ms))
            if spread > 0
            else None,
            "final_equity": str(capital),
            "efficiency": out_of_sample / mean_in_sample if mean_in_sample > 0 else None,
        }
    return {"windows": rows, "figures": figures, "equity_curve": curve}
