"""Machine learning for the desk: a feature store over the engine's own analysis, labels,
LightGBM training with purged walk-forward validation, an honest out-of-sample report
against baselines, and a registry of model versions (see docs/ml.md).

Pure parts (`feature_columns`, `feature_set`, `labels`, `validation`) never touch the
database; `feature_store` and `registry` keep their rows in the shared database."""
