"""The trigger function that wakes the relay (`manage.py relay`): a row a worker must hear about
was committed. Tables that need it add their own trigger (webhooks 0004, events 0002).

A notification is sent at commit, never for a rolled-back row, and PostgreSQL sends one per
transaction for the same channel and payload, so a transaction writing many rows wakes the relay
once."""

from django.db import migrations

CHANNEL = "portal_relay"

FUNCTION = f"""
CREATE OR REPLACE FUNCTION portal_relay_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0006_partner_default_lang_portuguese"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS portal_relay_notify()"),
    ]
