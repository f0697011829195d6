from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.tenancy import all_partners_scope
from webhooks.services import webhook_events_sweep


class Command(BaseCommand):
    help = (
        "Enqueue webhooks left unprocessed (after a broker or worker outage) and failed ones "
        "whose retry is due. Beat runs this every minute; run it by hand after an outage."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with all_partners_scope():
            count = webhook_events_sweep()
        self.stdout.write(f"{count} webhook events enqueued")
