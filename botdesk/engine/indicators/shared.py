"""Sharing indicator results between the bots on one window.

Inside `with shared_results():` an indicator called again with the very same input
arrays and parameters returns the result computed the first time (read-only), so ATR(14)
of a window is computed once for all the bots on it, not once per bot. The engine's bot
runner opens one such scope per pass; outside a scope every call computes afresh. The
inputs are kept alive in the cache, so an array id is never reused within a scope.
"""

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import fields, is_dataclass

import numpy as np

_CACHE: ContextVar[dict | None] = ContextVar("botdesk_indicator_cache", default=None)


@contextmanager
def shared_results() -> Iterator[None]:
    token = _CACHE.set({})
    try:
        yield
    finally:
        _CACHE.reset(token)


@contextmanager
def unshared() -> Iterator[None]:
    """Compute afresh inside, even within a `shared_results` scope: for many small windows
    each read once, which a cache would only keep alive until the scope ends."""
    token = _CACHE.set(None)
    try:
        yield
    finally:
        _CACHE.reset(token)


def sharing() -> bool:
    """Whether a `shared_results` scope is open here (a caller able to compute a result
    more cheaply itself may still prefer the shared one inside it)."""
    return _CACHE.get() is not None


def _key_part(value):
    if isinstance(value, np.ndarray) or is_dataclass(value):
        return ("id", id(value))
    return value


def _freeze(result, inputs: set[int]) -> None:
    """Make a cached result read-only (not the caller's input arrays it may hold)."""
    if isinstance(result, np.ndarray):
        if id(result) not in inputs:
            result.setflags(write=False)
    elif isinstance(result, tuple):
        for part in result:
            _freeze(part, inputs)
    elif is_dataclass(result):
        for item in fields(result):
            _freeze(getattr(result, item.name), inputs)


def shared(function):
    """Decorate a pure indicator function so a `shared_results` scope can reuse it."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        cache = _CACHE.get()
        if cache is None:
            return function(*args, **kwargs)
        key = (
            function.__qualname__,
            tuple(_key_part(arg) for arg in args),
            tuple(sorted((name, _key_part(value)) for name, value in kwargs.items())),
        )
        found = cache.get(key)
        if found is None:
            result = function(*args, **kwargs)
            _freeze(result, {id(value) for value in (*args, *kwargs.values())})
            found = cache[key] = (result, args, kwargs)  # inputs kept alive: ids stay unique
        return found[0]

    return wrapper
