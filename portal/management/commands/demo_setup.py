from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from portal.models import Partner
from portal.selectors import partner_get, partner_signup_url, partner_webhook_url
from portal.services import partner_create_or_update, superuser_ensure

DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = "Create the demo partner and admin user (used by `make demo`; DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_setup only runs with DJANGO_DEBUG=true.")
        password = os.environ.get("DEMO_ADMIN_PASSWORD")
        if not password:
            raise CommandError("Set DEMO_ADMIN_PASSWORD.")
        # Made once; what you change in the admin stays changed on the next run.
        partner = (
            partner_get(slug="demo")
            or partner_create_or_update(
                slug="demo",
                name="Demo Telecom",
                hub_partner_id="demoPA",
                payment_mode=Partner.PaymentMode.PARTNER,
                api_key="demo-partner-api-key",
            )[0]
        )
        superuser_ensure(username=DEMO_ADMIN, password=password)

        base = settings.PUBLIC_BASE_URL
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "The demo portal is starting (Ctrl-C stops everything):",
                    f"  Admin:        {base}/admin/   login: {DEMO_ADMIN} / {password}",
                    f"  Signup page:  {partner_signup_url(partner)}",
                    f"  Webhook URL:  {partner_webhook_url(partner)}",
                    f"  Health:       {base}/healthz   {base}/readyz",
                    "",
                ]
            )
        )
