"""gunicorn's access log without secrets: webhook tokens live in their URL (TradingView
cannot send headers), so the path is logged with the token replaced."""

import re

from gunicorn.glogging import Logger

WEBHOOK_TOKEN = re.compile(r"(/webhook/tradingview/)[^/?\s]+")


def redact(text: str | None) -> str | None:
    return WEBHOOK_TOKEN.sub(r"\1<token>", text) if text else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("r", "U", "{raw_uri}e", "{path_info}e"):
            if name in atoms:
                atoms[name] = redact(atoms[name])
        return atoms
