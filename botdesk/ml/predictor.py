"""ml_predictor: trade a registered model's predictions, the same way in a backtest and live.

The strategy reads the feature rows of the candles it is given (the live window holds 600
candles, more than the 556 a row needs, see `feature_set`) from a memo shared by the bots
of the process, which computes only the rows of candles it has not seen (one per new
candle, see `row_memo`: the same rows the full computation gives), asks the model for the
probabilities of sell, hold and buy of the rows it has not predicted yet (a new candle's
one row by LightGBM's single-row path, see `row_predictor`), and signals:

- BUY at t when the model's most probable class is buy and p(buy) >= min_confidence,
  and, with `trend_filter`, the market structure's trend at t is bullish (feature `trend`
  = +1); confidence p(buy); stop close - stop_atr x ATR(14);
- SELL (exit) at t when the most probable class is sell; confidence p(sell);
- nothing otherwise, and nothing on a candle without a full feature row.

`model` names a version; with `follow_champion` (the default) the strategy uses whatever
model is the champion of that version's symbol and timeframe at the time (so a promotion
or a rollback reaches the bots within `CHAMPION_CHECK_S`), else exactly that version.
Models are read from the database of the settings (`BOTDESK_DATABASE_URL`) and checked
against their sha256 when loaded. The database code is imported when a model is first
needed, so the strategy registry stays free of it (the desk imports the registry).
"""

import json
import threading
import time

import numpy as np
from pydantic import Field

from botdesk.engine.frames import CandleFrame, SignalFrame
from botdesk.engine.strategies.base import Strategy, StrategyParams
from botdesk.engine.timeframes import timeframe_ms
from botdesk.ml import feature_set
from botdesk.ml.labels import BUY, CLASSES, SELL
from botdesk.ml.row_memo import ROWS, RowMemo

CHAMPION_CHECK_S = 10.0


class MlPredictorParams(StrategyParams):
    model: int = Field(
        1, ge=1, le=2_147_483_647, description="Model version (see `botdesk ml list`)."
    )
    follow_champion: bool = Field(
        True,
        description="Use the current champion of that model's symbol and timeframe "
        "(promotions and rollbacks reach the bot), not the version itself.",
    )
    min_confidence: float = Field(
        0.4, ge=0, le=1, description="Buy only when the model's p(buy) is at least this."
    )
    trend_filter: bool = Field(
        False, description="Buy only while the market structure's trend is bullish."
    )


class LoadedModel:
    def __init__(self, version: int, timeframe: str, booster, sha256: str, external=()):
        from botdesk.ml.row_predictor import RowPredictor

        self.version, self.timeframe = version, timeframe
        self.booster, self.sha256 = booster, sha256
        self.row_predictor = RowPredictor(booster)  # the live candle's one row
        self.external: tuple[str, ...] = tuple(external)
        self.series: dict = {}  # the external series, read again every CHAMPION_CHECK_S
        self.series_read = -1e18


class _Models:
    """Boosters by version (hash-checked once), and the champion of each market, read
    again at most every CHAMPION_CHECK_S."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded: dict[tuple[str, int], LoadedModel] = {}
        self._champions: dict[tuple[str, int], tuple[float, int]] = {}
        self._databases: dict = {}

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()
            self._champions.clear()

    def get(self, version: int, follow_champion: bool) -> LoadedModel:
        from botdesk.db.session import database_for
        from botdesk.ml import external, registry
        from botdesk.ml.training import TrainSettings
        from botdesk.settings import get_settings

        url = get_settings().DATABASE_URL
        with self._lock:
            db = self._databases.get(url) or self._databases.setdefault(url, database_for(url))
            if follow_champion:
                checked = self._champions.get((url, version))
                if checked is None or time.monotonic() - checked[0] > CHAMPION_CHECK_S:
                    with db.reading() as session:
                        named = registry.get(session=session, version=version)
                        champion = registry.champion(
                            session=session, symbol=named.symbol, timeframe=named.timeframe
                        )
                    if champion is None:
                        raise registry.RegistryError(
                            f"{named.symbol} {named.timeframe} has no champion model: "
                            f"promote one (`botdesk ml promote`) or set follow_champion "
                            f"false to use model {version} itself"
                        )
                    checked = self._champions[(url, version)] = (time.monotonic(), champion.id)
                version = checked[1]
            loaded = self._loaded.get((url, version))
            if loaded is None:
                with db.reading() as session:
                    model = registry.get(session=session, version=version)
                    booster = registry.load_booster(model)
                    names = TrainSettings.of(json.loads(model.params)).external
                    loaded = LoadedModel(
                        version, model.timeframe, booster, model.artifact_sha256, names
                    )
                self._loaded[(url, version)] = loaded
            if loaded.external and time.monotonic() - loaded.series_read > CHAMPION_CHECK_S:
                loaded.series = external.load_all(db, loaded.external)
                loaded.series_read = time.monotonic()
            return loaded


MODELS = _Models()


def predict_frame(loaded: LoadedModel, candles: CandleFrame, memo: RowMemo | None = ROWS):
    """(row index per feature row, probabilities (n, 3), the trend column). With a memo,
    only the rows and predictions it does not hold yet are computed (see `row_memo`);
    without one, every row of `candles` is (the same figures, the bench compares)."""
    from botdesk.ml.external import with_external
    from botdesk.ml.training import predict

    candle_ms = timeframe_ms(loaded.timeframe)

    def probabilities_of(rows):
        features = with_external(rows, loaded.series, candle_ms).values
        if len(features) == 1:  # a new candle: LightGBM's single-row path, no per-call setup
            return loaded.row_predictor.predict(features[0])[None, :]
        return predict(loaded.booster, features)

    if memo is None:
        rows = feature_set.compute(candles, candle_ms)
    else:
        rows, held = memo.rows(candles, candle_ms)
    at = np.searchsorted(candles.open_time_ms, rows.open_time_ms)
    if not len(rows):
        return at, np.empty((0, len(CLASSES))), np.empty(0)
    if memo is None:
        probabilities = probabilities_of(rows)
    else:
        key = (loaded.version, loaded.sha256, loaded.series_read)
        probabilities = memo.predicted(held, key, rows, probabilities_of)
    return at, probabilities, rows.column("trend")


class MlPredictor(Strategy):
    __doc__ = __doc__
    name = "ml_predictor"
    title = "ML predictor"
    Params = MlPredictorParams
    memo: RowMemo | None = ROWS  # None: every row computed on every call (bench/ml_predict.py)

    @property
    def lookback(self) -> int:
        return feature_set.WARMUP + feature_set.BLOCK

    def signals(self, candles: CandleFrame) -> SignalFrame:
        p = self.params
        loaded = MODELS.get(p.model, p.follow_champion)
        count = len(candles)
        at, probabilities, trend = predict_frame(loaded, candles, self.memo)
        buy, sell = np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)
        confidence = np.zeros(count)
        if len(at):
            best = np.asarray(CLASSES)[np.argmax(probabilities, axis=1)]
            p_buy = probabilities[:, CLASSES.index(BUY)]
            wanted = (best == BUY) & (p_buy >= p.min_confidence)
            if p.trend_filter:
                wanted &= trend == 1
            buy[at] = wanted
            sell[at] = best == SELL
            confidence[at] = np.where(wanted, p_buy, probabilities[:, CLASSES.index(SELL)])
        return SignalFrame.build(
            count,
            buy=buy,
            sell=sell,
            confidence=confidence,
            stop=self.atr_stop(candles),
            buy_reason=f"model {loaded.version} predicts buy",
            sell_reason=f"model {loaded.version} predicts sell",
        )
