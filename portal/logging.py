"""Logging: one JSON object per line on stdout, with secrets in URLs redacted.

Used by the Django settings and by gunicorn.conf.py, so web, worker and beat log alike.
"""

from __future__ import annotations

import logging
import re
from typing import Any

# Path prefixes (regular expressions) whose next segment is a secret token: the partner webhook
# URL, and an onboarding's return URL /p/<slug>/r/<token>/.
TOKEN_PATH_PREFIXES = (re.escape("/webhooks/360dialog/"), r"/p/[^/\s]+/r/")

_TOKEN_IN_PATH = re.compile("(" + "|".join(TOKEN_PATH_PREFIXES) + r")[^/\s'\"?#]+")
# Query parameters whose value is a bearer token: an invite link's `?invite=`, also where the
# URL travels percent-encoded inside another (a `next=` parameter).
TOKEN_QUERY_PARAMETERS = ("invite",)
_TOKEN_IN_QUERY = re.compile(
    r"((?:[?&]|%3F|%26)(?:" + "|".join(TOKEN_QUERY_PARAMETERS) + r")(?:=|%3D))[^&%\s'\"#]+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    return _TOKEN_IN_QUERY.sub(r"\1[redacted]", _TOKEN_IN_PATH.sub(r"\1[redacted]", text))


class RedactTokens(logging.Filter):
    """Replaces URL tokens in the message and drops the request object Django attaches
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


def logging_config(*, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """A `logging.config.dictConfig` dict: every record to stdout, as JSON or plain text."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
                "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
                "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            },
            "console": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
        },
        "filters": {"redact_tokens": {"()": "portal.logging.RedactTokens"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json" if fmt == "json" else "console",
                "filters": ["redact_tokens"],
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {"django.db.backends": {"level": "INFO"}},
    }
