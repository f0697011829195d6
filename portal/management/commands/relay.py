from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from portal.relay import relay_forever


class Command(BaseCommand):
    help = (
        "Publish committed webhook deliveries and domain events to the Celery workers, woken by "
        "PostgreSQL notifications. Run one beside the workers (more are safe); stops on SIGTERM "
        "or Ctrl-C."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda *_: stop.set())
        relay_forever(stop)
