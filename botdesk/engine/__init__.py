"""The engine process: feeds, indicators, strategies, risk, brokers, ledger, scheduler."""
