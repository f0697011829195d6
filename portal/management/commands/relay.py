from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from portal.relay import relay_forever


class Command(BaseCommand):
    help = (
        "Publish committed webhook deliveries and domain events to the Celery workers: it looks "
        "every RELAY_IDLE_SECONDS, and domain events wake it at once. Run one beside the "
        "workers (more are safe); stops on SIGTERM or Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--heartbeat",
            type=Path,
            help="a file touched after every pass that succeeded (at least every "
            "RELAY_IDLE_SECONDS), for a health check",
        )

    def handle(self, *args: Any, heartbeat: Path | None, **options: Any) -> None:
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        relay_forever(stop, after_pass=heartbeat.touch if heartbeat else None)
