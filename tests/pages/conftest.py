"""Fixtures of this folder's tests."""

from tests.live_desk import desk  # noqa: F401  (a fixture, offered to every test here)
