"""gunicorn's logs without secrets: webhook tokens live in their URL (TradingView cannot
send headers) and a client may put an API key in the query string; both are replaced in
every atom of the access log and in gunicorn's error log (see botdesk.redaction)."""

import re

from gunicorn.glogging import Logger

from botdesk.logs import RedactSecrets
from botdesk.redaction import REDACTED, SECRET_HEADERS, redact

# the atoms an access log format names: %(h)s, %({user-agent}i)s ...
NAMED_ATOM = re.compile(r"%\(([^)]+)\)")


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(RedactSecrets())
        # header atoms as gunicorn looks them up: lower case
        self.printed = frozenset(
            name.lower() if name.startswith("{") else name
            for name in NAMED_ATOM.findall(cfg.access_log_format or "")
        )

    def atoms(self, resp, req, environ, request_time):
        """The atoms the format prints, redacted (only those: every header of the request
        and of the answer is an atom, and this runs on every request)."""
        atoms = super().atoms(resp, req, environ, request_time)
        kept = {}
        for name in self.printed:
            value = atoms.get(name)
            if value is None:
                continue
            if name in SECRET_HEADERS:
                kept[name] = REDACTED
            else:
                kept[name] = redact(value) if isinstance(value, str) else value
        return kept
