"""Retraining: a challenger trained on the stored candles, promoted only when it beats the
champion out of sample by a set margin.

The last `holdout` stored candles are kept from the challenger (its window ends before
them, its labels too). Both models then predict those candles, and the challenger is
promoted when its macro F1 there is at least the champion's plus `margin` (or when there
is no champion). If the champion's own window reached into the holdout, its score there
is partly in sample and flattered, so the challenger only wins more clearly: the outcome
says so. The challenger is stored as a version either way, with its walk-forward report.

Run it in its own process (`botdesk ml retrain`, from cron or a scheduler): training takes
seconds to minutes of CPU, and outside the engine it can never delay a candle or the kill
switch.
"""

from dataclasses import dataclass

from botdesk.engine.backtest.data import CANDLES, load_candles
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import external, feature_store, monitor, registry
from botdesk.ml.labels import LabelSpec
from botdesk.ml.runs import STORED, TrainRequest, train
from botdesk.ml.training import TrainingError, TrainSettings

ACTOR = "ml:retrain"


@dataclass(frozen=True)
class Outcome:
    challenger: int
    champion: int | None
    challenger_f1: float
    champion_f1: float | None
    holdout_samples: int
    champion_in_sample: bool
    promoted: bool
    tune_trials: int = 0  # > 0: the challenger's parameters were chosen by Optuna

    def describe(self) -> str:
        tuned = f" (parameters by {self.tune_trials} Optuna trials)" if self.tune_trials else ""
        if self.champion is None:
            return (
                f"model {self.challenger}{tuned} (macro F1 {self.challenger_f1:.3f} on "
                f"{self.holdout_samples} holdout candles) promoted: there was no champion"
            )
        if self.champion_f1 is None:
            return (
                f"model {self.challenger}{tuned} (macro F1 {self.challenger_f1:.3f} on "
                f"{self.holdout_samples} holdout candles) promoted: champion {self.champion} "
                "was trained on another feature set, which this botdesk no longer computes"
            )
        verdict = "promoted" if self.promoted else "not promoted; the champion stays"
        flattered = " (the champion saw part of the holdout)" if self.champion_in_sample else ""
        return (
            f"challenger {self.challenger}{tuned}: macro F1 {self.challenger_f1:.3f} against "
            f"champion {self.champion}'s {self.champion_f1:.3f}{flattered} on "
            f"{self.holdout_samples} holdout candles: {verdict}"
        )


def retrain(
    db,
    *,
    symbol: str,
    timeframe: str,
    holdout: int = 720,
    margin: float = 0.02,
    label: LabelSpec | None = None,
    settings: TrainSettings | None = None,
    tune_trials: int = 0,
) -> Outcome:
    """`tune_trials` > 0: the challenger's parameters are chosen by that many Optuna
    trials on its inner walk-forward folds first, as `botdesk ml train --tune` does (see
    `tuning`; the holdout stays outside the search like every other candle after the
    challenger's window)."""
    candles = load_candles(CANDLES, symbol=symbol, timeframe=timeframe, db=db)
    if len(candles) < holdout + 1000:
        raise TrainingError(
            f"{len(candles)} stored {timeframe} candles of {symbol}: retraining needs the "
            f"holdout ({holdout}) and at least 1000 more"
        )
    holdout_from = int(candles.open_time_ms[-holdout])
    with db.reading() as session:
        champion = registry.champion(session=session, symbol=symbol, timeframe=timeframe)
    if label is None:
        label = monitor.label_spec(champion) if champion is not None else LabelSpec()
    if settings is None and champion is not None:
        settings = TrainSettings(external=monitor.external_names(champion))
    request = TrainRequest(
        symbol=symbol,
        timeframe=timeframe,
        data_source=STORED,
        label=label,
        to_ms=holdout_from - timeframe_ms(timeframe),
        settings=settings or TrainSettings(),
        tune_trials=tune_trials,
    )
    challenger = train(request, db=db, created_by=ACTOR).model
    with db.reading() as session:
        rows = feature_store.read(session=session, symbol=symbol, timeframe=timeframe)
    after = holdout_from - 1

    def score(model):
        series = external.load_all(db, monitor.external_names(model))
        model_rows = external.with_external(rows, series, timeframe_ms(timeframe))
        return monitor.score_after(registry.load_booster(model), label, candles, model_rows, after)

    mine, actual, _ = score(challenger)
    theirs = None
    if champion is not None and champion.feature_set_version == challenger.feature_set_version:
        theirs = score(champion)[0]
    promoted = theirs is None or mine["macro_f1"] >= theirs["macro_f1"] + margin
    outcome = Outcome(
        challenger=challenger.id,
        champion=champion.id if champion else None,
        challenger_f1=mine["macro_f1"],
        champion_f1=theirs["macro_f1"] if theirs else None,
        holdout_samples=len(actual),
        champion_in_sample=champion is not None
        and monitor.unseen_after_ms(champion) >= holdout_from,
        promoted=promoted,
        tune_trials=tune_trials,
    )
    if promoted:
        with db.writing() as session:
            registry.promote(
                session=session,
                version=challenger.id,
                actor=ACTOR,
                reason=outcome.describe()[:500],
            )
    return outcome
