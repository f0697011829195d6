from typing import Any

from django.core.management.base import BaseCommand

from portal.services import encrypted_values_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. "
        "Run it after putting a new key first; then the old keys can be removed."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for label, count in encrypted_values_rotate().items():
            self.stdout.write(f"{label}: {count} rows re-encrypted")
