"""Indexes for the console's searches, on the tables they search (clients, channels): trigram
indexes where a search "contains" the term (numbers, e-mails, names), b-tree ones for exact
ids. RunSQL, so the models of those apps stay as they are."""

from django.db import migrations

INDEXES = {
    "console_onboarding_phone_trgm": (
        "clients_onboarding USING gin (phone_number gin_trgm_ops)"
    ),
    "console_onboarding_email_trgm": (
        "clients_onboarding USING gin ((UPPER(email::text)) gin_trgm_ops)"
    ),
    "console_onboarding_name_trgm": (
        "clients_onboarding USING gin ((UPPER(contact_name::text)) gin_trgm_ops)"
    ),
    "console_onboarding_payload": "clients_onboarding (partner_payload)",
    "console_channel_phone_trgm": "channels_channel USING gin (phone_number gin_trgm_ops)",
    "console_channel_hub_id": "channels_channel (hub_channel_id)",
    "console_client_hub_id": "clients_client (hub_client_id)",
}


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_stuck_flags_and_thresholds"),
        ("clients", "0006_phone_numbers_validated"),
        ("channels", "0002_api_key_error"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS pg_trgm", reverse_sql=migrations.RunSQL.noop
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {target}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, target in INDEXES.items()
        ],
    ]
