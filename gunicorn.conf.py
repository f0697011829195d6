"""gunicorn's settings for the `web` process (read from the working directory at start)."""

import os

from portal.logging import logging_config

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
timeout = 30
# gunicorn's messages and its access log as JSON lines on stdout, like the portal's, with the
# tokens in request paths redacted.
logconfig_dict = logging_config(
    level=os.environ.get("LOG_LEVEL") or "INFO",
    fmt=os.environ.get("LOG_FORMAT") or "json",  # `make demo` reads plain lines
)
logconfig_dict["loggers"] |= {
    name: {"handlers": ["stdout"], "level": "INFO", "propagate": False}
    for name in ("gunicorn.error", "gunicorn.access")
}
