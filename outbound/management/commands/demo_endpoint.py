"""`make demo`: the demo partner's outbound endpoint on this run's receiver (DEBUG only)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outbound.models import Endpoint
from outbound.services import endpoint_create
from portal.selectors import partner_get
from portal.tenancy import partner_scope

RECEIVER_PATH = "/_sim/outbound"


class Command(BaseCommand):
    help = (
        "Point the demo partner's outbound endpoint at the demo's receiver (the hub "
        "simulator's /_sim/outbound), adding it on the first run."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--url", required=True, help="the receiver, e.g. http://127.0.0.1:8360/_sim/outbound"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_endpoint only runs with DJANGO_DEBUG=true.")
        url: str = options["url"]
        partner = partner_get(slug="demo")
        if partner is None:
            raise CommandError("Run demo_setup first: there is no demo partner.")
        with partner_scope(partner):
            # The receiver's port may change between runs: the demo's endpoint follows it.
            existing = Endpoint.objects.filter(url__endswith=RECEIVER_PATH).first()
            if existing is None:
                endpoint_create(partner=partner, url=url)
                what = "added"
            else:
                Endpoint.objects.filter(pk=existing.pk).update(
                    url=url, enabled=True, failing_since=None, disabled_reason=""
                )
                what = "kept"
        self.stdout.write(
            f"  Outbound events: {url}   (the demo partner's endpoint, {what}; watch them arrive)\n"
        )
