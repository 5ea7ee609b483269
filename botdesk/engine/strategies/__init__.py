"""Strategy plug-ins: a parameter model and one vectorized method from candles to signals."""
