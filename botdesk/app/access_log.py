"""gunicorn's logs without secrets: webhook tokens live in their URL (TradingView cannot
send headers) and a client may put an API key in the query string; both are replaced in
every atom of the access log and in gunicorn's error log (see botdesk.redaction)."""

from gunicorn.glogging import Logger

from botdesk.logs import RedactSecrets
from botdesk.redaction import REDACTED, SECRET_HEADERS, redact


class RedactingLogger(Logger):
    def setup(self, cfg) -> None:
        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.addFilter(RedactSecrets())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name, value in atoms.items():
            if name in SECRET_HEADERS:
                atoms[name] = REDACTED
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
