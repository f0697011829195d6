from __future__ import annotations

import json
import logging
import signal
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hubsim.faults import Faults
from hubsim.server import make_hub_server


class Command(BaseCommand):
    help = (
        "Run the 360Dialog hub simulator: the IO permission page, signed partner webhooks, the "
        "Partner API (/api/v2) and fault switches (/_sim/faults). Its state lives in memory."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8360)
        parser.add_argument(
            "--partners",
            type=Path,
            help="JSON file with a list of partners to register at start (see README)",
        )
        parser.add_argument(
            "--faults",
            default="{}",
            help="fault switches as JSON, e.g. '{\"duplicate_webhooks\": true}'",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        faults = Faults()
        try:
            faults.update(json.loads(options["faults"]))
        except (ValueError, AttributeError) as error:
            raise CommandError(f"--faults: {error}") from None
        partners: list[dict[str, Any]] = []
        if options["partners"]:
            try:
                partners = json.loads(options["partners"].read_text())
            except (OSError, ValueError) as error:
                raise CommandError(f"--partners: {error}") from None
        try:
            server, hub = make_hub_server(options["host"], options["port"], faults)
        except OSError as error:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {error}"
            ) from None
        try:
            for values in partners:
                hub.partner_register(**values)
        except (TypeError, ValueError) as error:
            raise CommandError(f"--partners: {error}") from None
        logging.getLogger("hubsim").setLevel(logging.INFO)
        signal.signal(signal.SIGTERM, _stop)
        base = f"http://{options['host']}:{server.port}"
        self.stdout.write(f"Hub simulator on {base} (Partner API: {base}/api/v2)", ending="\n")
        self.stdout.flush()
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
