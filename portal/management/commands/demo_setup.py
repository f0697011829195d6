from __future__ import annotations

import json
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.models import Partner
from portal.selectors import partner_get, partner_signup_url, partner_webhook_url
from portal.services import (
    partner_create_or_update,
    partner_webhook_token_rotate,
    superuser_ensure,
)

DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = (
        "Create the demo partner and admin user, point the demo partner at the hub simulator "
        "and write the simulator's partner file (used by `make demo`; DEBUG only)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--hubsim-partners",
            type=Path,
            required=True,
            help="where to write the partners the hub simulator should know",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup only runs with DJANGO_DEBUG=true.")
        env = {
            name: os.environ.get(name, "")
            for name in (
                "DEMO_ADMIN_PASSWORD",
                "DEMO_DIALOG360_API_KEY",
                "DEMO_DIALOG360_PLATFORM_SECRET",
                "DEMO_HUBSIM_URL",
            )
        }
        missing = [name for name, value in env.items() if not value]
        if missing:
            raise CommandError(f"Set {', '.join(missing)}.")
        hub_url = env["DEMO_HUBSIM_URL"]
        existing = partner_get(slug="demo")
        # Made once; what you change in the admin stays changed on the next run, except the
        # connection, which always points at this run's simulator.
        partner, _ = partner_create_or_update(
            slug="demo",
            name=existing.name if existing else "Demo Telecom",
            hub_partner_id=existing.hub_partner_id if existing else "demoPA",
            payment_mode=existing.payment_mode if existing else Partner.PaymentMode.PARTNER,
            hub_url=hub_url,
            api_base_url=f"{hub_url}/api/v2",
            api_key=env["DEMO_DIALOG360_API_KEY"],
            platform_secret=env["DEMO_DIALOG360_PLATFORM_SECRET"],
            io_signature_enabled=None if existing else True,
        )
        superuser_ensure(username=DEMO_ADMIN, password=env["DEMO_ADMIN_PASSWORD"])
        tokens = self._write_hubsim_partners(options["hubsim_partners"], hub_url)

        base = settings.PUBLIC_BASE_URL
        webhook_url = (
            partner_webhook_url(token=tokens[partner.pk])
            if partner.pk in tokens
            else "(none: the demo partner is inactive)"
        )
        password = env["DEMO_ADMIN_PASSWORD"]
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "The demo portal is starting (Ctrl-C stops everything):",
                    f"  Admin:        {base}/admin/   login: {DEMO_ADMIN} / {password}",
                    f"  Signup page:  {partner_signup_url(partner)}",
                    f"  Webhook URL:  {webhook_url}",
                    f"  Health:       {base}/healthz   {base}/readyz",
                    f"  Hub simulator: {hub_url}/_sim/state   (360Dialog's side, on its own port)",
                    "",
                ]
            )
        )

    @staticmethod
    def _write_hubsim_partners(path: Path, hub_url: str) -> dict[int, str]:
        """Every active partner whose hub is the simulator (on any loopback name, with or
        without a trailing slash), as the simulator should know it. Only hashes of webhook
        tokens are stored, so each such partner gets a new one, which only this run's simulator
        uses; returns them by partner id."""
        simulator = urlsplit(hub_url)
        tokens: dict[int, str] = {}
        partners = []
        for partner in Partner.objects.filter(is_active=True):
            if not partner.api_key or not _same_loopback_server(
                urlsplit(partner.hub_url), simulator
            ):
                continue
            tokens[partner.pk] = partner_webhook_token_rotate(partner=partner)
            partners.append(
                {
                    "partner_id": partner.hub_partner_id,
                    "api_key": partner.api_key,
                    "platform_secret": partner.platform_secret,
                    "payment_mode": partner.payment_mode,
                    "require_io_signature": partner.io_signature_enabled,
                    "io_signature_encoding": partner.io_signature_encoding,
                    "webhook_url": partner_webhook_url(token=tokens[partner.pk]),
                }
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        # It holds secrets: readable by us alone from the first byte.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(partners, file, indent=2)
        return tokens


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _same_loopback_server(url: SplitResult, simulator: SplitResult) -> bool:
    return (
        url.scheme == simulator.scheme
        and url.hostname in LOOPBACK
        and url.port == simulator.port
        and url.path.strip("/") == simulator.path.strip("/")
    )
