"""Dash with each page's HTML kept per worker.

Every full load of a desk page asks for it, and Dash builds it afresh each time (the
scripts' and styles' tags, the config, the page's meta tags), though it is the same for
every request of one URL: what differs between URLs is only the page's title and
description in the meta tags. The newest pages are kept by URL (host, path and query, as
the meta tags name them; `RenderOnce`), so a reload costs a dictionary lookup.
"""

import dash
from flask import request

from botdesk.app.render_once import RenderOnce

KEPT_PAGES = 64


class KeptIndexDash(dash.Dash):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages = RenderOnce(size=KEPT_PAGES)

    def index(self, *args, **kwargs) -> str:
        return self._pages.get(
            request.url, lambda: super(KeptIndexDash, self).index(*args, **kwargs)
        )
