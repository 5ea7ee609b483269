"""Research on strategies: the lookahead and warm-up check, optimisation with Optuna,
walk-forward analysis and the backtest report's extra figures. Everything here runs
backtests through `botdesk.engine.backtest.runs.run_backtest`, the same exact simulation
as a single backtest, so a trial re-run as a backtest gives the same figures."""
