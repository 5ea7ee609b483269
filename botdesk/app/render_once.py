"""Pieces of pages built once per desk worker for each change of what they show.

Fifty people with the Bots page open ask for the same table every few seconds. A piece
kept under its database, what else it depends on (a role, filters) and its change marker
is built by the first request after a change and handed to every later one, instead of
being rebuilt per user. Requests that miss together wait for the one build rather than
each making their own. A piece is kept as sent (`as_sent`): the plain JSON tree
Dash would make of its components, so every answer that carries it is serialized by the
json module's C encoder instead of component by component (for the Bots page's table of
50 bots, most of the request's time), and no thread can change it.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from dash.development.base_component import Component
from plotly.io.json import to_json_plotly

Piece = TypeVar("Piece")


def as_sent(value):
    """`value` with each Dash component in it (in lists, tuples and dicts too) replaced by
    the plain tree Dash sends for it: the same JSON, read back."""
    if isinstance(value, Component):
        return json.loads(to_json_plotly(value))
    if isinstance(value, list | tuple):
        return type(value)(as_sent(item) for item in value)
    if isinstance(value, dict):
        return {key: as_sent(item) for key, item in value.items()}
    return value


def frozen(value):
    """A marker (lists of lists, as the pages keep them in a Store) as a hashable key."""
    if isinstance(value, list | tuple):
        return tuple(frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, frozen(item)) for key, item in value.items()))
    return value


class RenderOnce:
    """The newest `size` pieces of one kind, by key. `builds` counts the pieces built."""

    def __init__(self, size: int = 8):
        self.size = size
        self.builds = 0
        self._kept: OrderedDict[Hashable, object] = OrderedDict()
        self._newest: dict[Hashable, tuple] = {}  # family -> (marker, piece), see newest()
        self._lock = threading.Lock()
        self._building = threading.Lock()

    def _found(self, key: Hashable):
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return True, self._kept[key]
        return False, None

    def get(self, key: Hashable, build: Callable[[], Piece]) -> Piece:
        key = frozen(key)
        found, piece = self._found(key)
        if found:
            return piece
        with self._building:  # one build at a time: the others find its piece
            return self._build(key, build)

    def _build(self, key: Hashable, build: Callable[[], Piece], family=None, marker=None):
        found, piece = self._found(key)
        if found:
            return piece
        piece = as_sent(build())
        with self._lock:
            self._kept[key] = piece
            if family is not None:
                self._newest[family] = (marker, piece)
            self.builds += 1
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return piece

    def newest(self, family: Hashable, marker, build: Callable[[], Piece]) -> tuple:
        """(marker, piece): the piece for `marker` of `family` (a database and role, say);
        while another request is building one, the newest piece of the family already
        built, with the marker it shows, at once: a page the poll brings up to date
        after, instead of a queue behind the build."""
        key = (frozen(family), frozen(marker))
        found, piece = self._found(key)
        if found:
            return marker, piece
        if not self._building.acquire(blocking=False):
            with self._lock:
                kept = self._newest.get(key[0])
            if kept is not None:
                return kept
            self._building.acquire()
        try:
            return marker, self._build(key, build, family=key[0], marker=marker)
        finally:
            self._building.release()
