"""Backtests: the live strategy method and fill rules over a whole history."""
