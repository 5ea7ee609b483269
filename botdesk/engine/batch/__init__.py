"""The batched candle path: all the bots of one (symbol, timeframe) that process the same
closed candle do it in one transaction, their state read with a few set-based queries
and their rows written together (`candle.process_batch`); what the batch did is
gathered in one place (`outcome.CandleOutcome`)."""
