"""Secrets out of every log line: API keys, webhook tokens and secret-bearing query
parameters are replaced before a line is written (the access log, the processes' logs,
the audit log). An API key keeps its visible prefix (`bd_3f9a1c2b_<redacted>`), which the
API keys page shows too, so a line still says which key was used."""

import re

REDACTED = "<redacted>"
# The key format of db/api_keys.py: the prefix, then 43 secret characters.
API_KEY = re.compile(r"(bd_[0-9a-f]{8}_)[A-Za-z0-9_-]{43}")
WEBHOOK_TOKEN = re.compile(r"(/webhook/tradingview/)[^/?#\s\"']+")
SECRET_PARAMETER = re.compile(
    r"(?i)((?:^|[?&;])(?:api[_-]?key|key|token|access[_-]?token|secret|password|passwd|"
    r"signature|code|csrf[_-]?token)=)[^&;#\s\"']*"
)
# Request headers that carry a secret whole, as gunicorn names them in its atoms.
SECRET_HEADERS = ("{x-api-key}i", "{cookie}i", "{authorization}i")


def redact(text: str | None) -> str | None:
    """The text with every secret it carries replaced."""
    if not text:
        return text
    text = API_KEY.sub(rf"\1{REDACTED}", text)
    text = WEBHOOK_TOKEN.sub(r"\1<token>", text)
    return SECRET_PARAMETER.sub(rf"\1{REDACTED}", text)
