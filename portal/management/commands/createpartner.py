from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal.models import Partner
from portal.selectors import partner_get, partner_signup_url, partner_webhook_url
from portal.services import partner_create_or_update, partner_webhook_token_rotate

API_KEY_ENV = "DIALOG360_API_KEY"
PLATFORM_SECRET_ENV = "DIALOG360_PLATFORM_SECRET"  # noqa: S105 (a variable's name)


class Command(BaseCommand):
    help = (
        "Create or update a partner (tenant). Secrets are read from the environment variables "
        f"{API_KEY_ENV} and {PLATFORM_SECRET_ENV}, or asked for at a prompt; never from the "
        "command line. For a new partner (or with --rotate-webhook-token) the last line printed "
        "is its webhook URL, shown only then: only a hash of its token is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--slug", required=True, help="URL name: the signup page is /p/SLUG/")
        parser.add_argument("--name", required=True, help="Display name")
        parser.add_argument("--hub-partner-id", required=True, help="360Dialog partner id")
        parser.add_argument(
            "--payment-mode", required=True, choices=[c.value for c in Partner.PaymentMode]
        )
        parser.add_argument("--hub-url", help="Base URL of the IO permission page")
        parser.add_argument("--api-base-url", help="Base URL of the Partner API")
        parser.add_argument(
            "--io-signature",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="Sign IO links (needs the platform secret)",
        )
        parser.add_argument(
            "--rotate-webhook-token",
            action="store_true",
            help="Make a new webhook URL (the old one stops working) and print it.",
        )
        parser.add_argument(
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt; take secrets from the environment only.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        existing = partner_get(slug=options["slug"])
        exists = existing is not None
        interactive = options["interactive"] and sys.stdin.isatty()
        keep = "Enter keeps the stored value"
        api_key = self._secret(
            API_KEY_ENV, "Partner API key", interactive, keep if exists else "required"
        )
        if api_key is None and not exists:
            raise CommandError(
                f"A new partner needs its Partner API key: set {API_KEY_ENV} "
                "or run the command in a terminal to be asked for it."
            )
        platform_secret = self._secret(
            PLATFORM_SECRET_ENV,
            "Platform secret",
            interactive,
            keep if exists else "Enter to leave it unset",
        )
        try:
            partner, created = partner_create_or_update(
                slug=options["slug"],
                name=options["name"],
                hub_partner_id=options["hub_partner_id"],
                payment_mode=options["payment_mode"],
                hub_url=options["hub_url"],
                api_base_url=options["api_base_url"],
                io_signature_enabled=options["io_signature"],
                api_key=api_key,
                platform_secret=platform_secret,
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from None

        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} partner {partner.slug!r} ({partner.name}), "
            f"{partner.get_payment_mode_display()}, 360Dialog partner id {partner.hub_partner_id}."
        )
        if existing is not None and existing.hub_partner_id != partner.hub_partner_id:
            self.stdout.write(
                f"Note: its 360Dialog partner id was {existing.hub_partner_id} until now."
            )
        self.stdout.write(
            f"API key: {'set' if partner.api_key else 'not set'}; "
            f"platform secret: {'set' if partner.platform_secret else 'not set'}; "
            f"IO signature: {'on' if partner.io_signature_enabled else 'off'}; "
            f"webhook signature required: {'yes' if partner.platform_secret else 'no'}."
        )
        self.stdout.write(f"Signup page: {partner_signup_url(partner)}")
        if not (created or options["rotate_webhook_token"]):
            self.stdout.write(
                "Webhook URL: unchanged (shown only when made; --rotate-webhook-token makes "
                "a new one)."
            )
            return
        token = partner_webhook_token_rotate(partner=partner)
        self.stdout.write(
            "Webhook URL (enter it in the 360Dialog Partner Hub; it is not shown again):"
        )
        self.stdout.write(partner_webhook_url(token=token))

    def _secret(self, env_name: str, label: str, interactive: bool, hint: str) -> str | None:
        """The secret from the environment or a hidden prompt; None means "leave as it is"."""
        value = os.environ.get(env_name, "").strip()
        if value:
            return value
        if not interactive:
            return None
        value = getpass.getpass(f"{label} (input hidden; {hint}): ").strip()
        return value or None


# Model fields as the command's user knows them.
_OPTIONS = {
    "slug": "--slug",
    "name": "--name",
    "hub_partner_id": "--hub-partner-id",
    "payment_mode": "--payment-mode",
    "hub_url": "--hub-url",
    "api_base_url": "--api-base-url",
}


def _describe(exc: ValidationError) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    lines = []
    for field, messages in exc.message_dict.items():
        text = " ".join(messages)
        if field == "__all__" and "platform secret" in text:
            text += f" Set {PLATFORM_SECRET_ENV}."
        lines.append(text if field == "__all__" else f"{_OPTIONS.get(field, field)}: {text}")
    return "; ".join(lines)
