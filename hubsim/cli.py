"""The simulator's command line, shared by `python -m hubsim` and `manage.py hubsim`."""

from __future__ import annotations

import json
import logging
import signal
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, Protocol

from hubsim.faults import Faults
from hubsim.server import make_hub_server

DESCRIPTION = (
    "Run the 360Dialog hub simulator: the IO permission page, signed partner webhooks, the "
    "Partner API (/api/v2) and fault switches (/_sim/faults). Its state lives in memory, or "
    "in --state FILE across restarts."
)


class Output(Protocol):
    def write(self, msg: str, /) -> object: ...

    def flush(self) -> None: ...


class UsageError(Exception):
    """A bad option; the message names it."""


def add_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8360)
    parser.add_argument(
        "--partners",
        type=Path,
        help="JSON file with a list of partners to register at start (see README)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        help="keep partners, clients, channels and keys in this JSON file across restarts",
    )
    parser.add_argument(
        "--faults",
        default="{}",
        help="fault switches as JSON, e.g. '{\"duplicate_webhooks\": true}'",
    )


def run(options: dict[str, Any], out: Output) -> None:
    """Serve until SIGTERM or Ctrl-C."""
    faults = Faults()
    try:
        changes = json.loads(options["faults"])
        if not isinstance(changes, dict):
            raise ValueError("give a JSON object")
        faults.update(changes)
    except ValueError as error:
        raise UsageError(f"--faults: {error}") from None
    partners: list[dict[str, Any]] = []
    if options["partners"]:
        try:
            partners = json.loads(options["partners"].read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--partners: {error}") from None
    # A busy port: Werkzeug says so and exits with status 1.
    try:
        server, hub = make_hub_server(
            options["host"], options["port"], faults, state_file=options.get("state")
        )
    except (ValueError, KeyError, TypeError) as error:  # an unreadable state file
        raise UsageError(f"--state: {error!r}") from None
    try:
        for values in partners:
            hub.partner_register(**values)
    except (TypeError, ValueError) as error:
        hub.close()
        server.server_close()
        raise UsageError(f"--partners: {error}") from None
    logging.getLogger("hubsim").setLevel(logging.INFO)
    signal.signal(signal.SIGTERM, _stop)
    base = f"http://{options['host']}:{server.port}"
    out.write(f"Hub simulator on {base} (Partner API: {base}/api/v2)\n")
    out.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        hub.close()


def _stop(*_: object) -> None:
    """SIGTERM stops the server like Ctrl-C does."""
    raise KeyboardInterrupt
