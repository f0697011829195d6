"""Serving the simulator: a threaded Werkzeug server around one Hub."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hubsim.app import HubApp
from hubsim.faults import Faults
from hubsim.hub import Hub

logger = logging.getLogger("hubsim")


class _QuietHandler(WSGIRequestHandler):
    """Logs method, path and status, never the query string (it carries IO signatures)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path.split("?", 1)[0]
        logger.info("%s %s %s", self.command, path, code)

    def log(self, type: str, message: str, *args: Any) -> None:
        if type == "error":
            logger.error(message, *args)


def make_hub_server(
    host: str, port: int, faults: Faults | None = None, state_file: Path | None = None
) -> tuple[BaseWSGIServer, Hub]:
    hub = Hub(faults, state_file=state_file)
    server = make_server(host, port, HubApp(hub), threaded=True, request_handler=_QuietHandler)
    return server, hub


def serve_in_thread(
    host: str = "127.0.0.1", port: int = 0, faults: Faults | None = None
) -> tuple[BaseWSGIServer, Hub, threading.Thread]:
    """Start a simulator in this process (port 0: any free port); `server.shutdown()` stops it."""
    server, hub = make_hub_server(host, port, faults)
    thread = threading.Thread(target=server.serve_forever, name="hubsim-server", daemon=True)
    thread.start()
    return server, hub, thread
