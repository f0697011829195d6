"""gunicorn's settings for the `web` process (read from the working directory at start)."""

import os

from portal.logging import logging_config

bind = "0.0.0.0:8000"
workers = int(os.environ.get("WEB_CONCURRENCY") or 3)
# Threads, not one request per process: a client that sends its request slowly holds one
# thread, not a whole worker (bench/slow_clients.py: with sync workers three such clients
# stop /healthz; with gthread they do not). Many still exhaust the threads: put a buffering
# proxy in front (README: Run it in production).
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS") or 4)
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


def on_starting(server: object) -> None:
    """Metrics of an earlier run must not be summed with this one's (PROMETHEUS_MULTIPROC_DIR)."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server: object, worker: object) -> None:
    """A gunicorn worker's gauges stop counting when it exits."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]
