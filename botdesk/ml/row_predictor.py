"""One feature row's probabilities by LightGBM's single-row fast path, for the live candle.

`Booster.predict` builds a predictor, copies its keyword arguments and checks the input
on every call, which costs about three times the prediction of one row (0.11 against
0.04 ms, bench/ml_predict.py). LightGBM's C API has a path for exactly this case:
`LGBM_BoosterPredictForMatSingleRowFastInit` prepares the prediction once (one thread,
float64 rows of the model's width) and `LGBM_BoosterPredictForMatSingleRowFast` then
predicts a row. It is the same model and the same arithmetic: the probabilities are
`training.predict`'s to the last digit (tests/ml/test_row_predictor.py).

The C functions are reached through the library handle the lightgbm package loaded
(`lightgbm.basic._LIB`, the one `Booster` itself calls), so they are that version's.
"""

import ctypes
import threading

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _LIB, _safe_call

from botdesk.ml.labels import CLASSES

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class RowPredictor:
    """predict(row) -> the (3,) probabilities of SELL, HOLD, BUY of one feature row."""

    def __init__(self, booster: lgb.Booster):
        self.booster = booster  # the fast config points into it: keep it alive
        self.width = booster.num_feature()
        self._config = ctypes.c_void_p()
        self._lock = threading.Lock()  # one config, one output buffer: one row at a time
        self._out = np.empty(len(CLASSES), dtype=np.float64)
        self._out_length = ctypes.c_int64()
        # the pointers the C call takes, made once (ctypes' casts cost more than the call)
        self._out_pointer = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._out_length_pointer = ctypes.byref(self._out_length)
        # as Booster.predict: up to the best iteration when training stopped early, else all
        iterations = booster.best_iteration if booster.best_iteration > 0 else -1
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_NORMAL),
                ctypes.c_int(0),
                ctypes.c_int(iterations),
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(self.width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(self._config),
            )
        )

    def predict(self, row: np.ndarray) -> np.ndarray:
        row = np.ascontiguousarray(row, dtype=np.float64)
        if row.shape != (self.width,):
            raise ValueError(f"a feature row has {self.width} values, not {row.shape}")
        with self._lock:
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                    self._config,
                    ctypes.c_void_p(row.ctypes.data),
                    self._out_length_pointer,
                    self._out_pointer,
                )
            )
            return self._out.copy()

    def __del__(self):
        if getattr(self, "_config", None) and self._config.value:
            _LIB.LGBM_FastConfigFree(self._config)
