from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from channels.hub import PartnerNotConnectedError
from channels.reconcile import partner_reconcile
from dialog360.errors import PartnerApiError
from portal.models import Partner
from portal.tenancy import partner_scope


class Command(BaseCommand):
    help = (
        "Page through the Partner API's clients and channels and apply what webhooks missed "
        "(each correction is recorded on the onboarding's timeline)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--partner", metavar="SLUG", help="only this partner (default: all)")

    def handle(self, *args: Any, **options: Any) -> None:
        partners = Partner.objects.filter(is_active=True).exclude(api_key__exact="")
        if options["partner"]:
            partners = Partner.objects.filter(slug=options["partner"])
            if not partners.exists():
                raise CommandError(f"--partner: no partner with slug {options['partner']!r}")
        failed = False
        for partner in partners.order_by("slug"):
            try:
                with partner_scope(partner):
                    result = partner_reconcile(partner=partner)
            except (PartnerApiError, PartnerNotConnectedError) as error:
                failed = True
                self.stderr.write(f"{partner.slug}: {error}")
                continue
            failures = f", {len(result.failures)} failed" if result.failures else ""
            self.stdout.write(
                f"{partner.slug}: {result.clients} clients, {result.channels} channels, "
                f"{result.corrections} corrections, {result.provisioning} keys queued{failures}"
            )
            for failure in result.failures:
                failed = True
                self.stderr.write(f"{partner.slug}: skipped {failure}")
        if failed:
            raise CommandError("reconciliation failed for at least one partner (see above)")
