"""Dash with each page's HTML kept per worker.

Every full load of a desk page asks for it, and Dash builds it afresh each time (the
scripts' and styles' tags, the config, the page's meta tags), though it is the same for
every request of one URL: what differs between URLs is only the page's title and
description in the meta tags. The newest pages are kept by URL (host, path and query, as
the meta tags name them), so a reload costs a dictionary lookup.
"""

import threading
from collections import OrderedDict

import dash
from flask import request

KEPT_PAGES = 64


class KeptIndexDash(dash.Dash):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: OrderedDict[str, str] = OrderedDict()
        self._pages_lock = threading.Lock()

    def index(self, *args, **kwargs) -> str:
        key = request.url
        with self._pages_lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
        if page is None:
            page = super().index(*args, **kwargs)
            with self._pages_lock:
                self._pages[key] = page
                while len(self._pages) > KEPT_PAGES:
                    self._pages.popitem(last=False)
        return page
