"""Log filters: keep secrets that travel in URL paths out of every log line."""

from __future__ import annotations

import logging
import re

# Path prefixes whose next segment is a secret token (the partner webhook URL, and the return
# URLs of onboardings as they are added).
TOKEN_PATH_PREFIXES = ("/webhooks/360dialog/",)

_TOKEN_IN_PATH = re.compile(
    "(" + "|".join(re.escape(prefix) for prefix in TOKEN_PATH_PREFIXES) + r")[^/\s'\"?#]+"
)


def redact(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    """Replaces path tokens in the message and drops the request object Django attaches
    (its repr carries the full path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), ()
        request = getattr(record, "request", None)
        if request is not None:
            record.request = redact(
                f"{getattr(request, 'method', '')} {getattr(request, 'path', '')}"
            )
        return True
