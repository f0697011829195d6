"""What the console's lists need at 100,000 onboardings and 1,000,000 webhook events: the
webhook event's channel and client as indexed expressions over its payload (SQL functions, so
the index and the queries say the same thing: console/search.py), the timeline's and the mails'
sort orders, the numbers with a key error, and trigram indexes for searching clients by name and e-mail. RunSQL, so the
models of those apps stay as they are."""

from django.db import migrations

# The channel a webhook event is about: the id in `data` (channel events; notices name it as
# channel_id, id or channel.id); none for client events. Mirrors console.search.event_refs.
EVENT_CHANNEL = r"""
CREATE OR REPLACE FUNCTION console_event_channel(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN payload->>'event' LIKE 'client%' THEN NULL ELSE COALESCE(
    NULLIF(payload#>>'{data,channel_id}', ''),
    NULLIF(payload#>>'{data,id}', ''),
    NULLIF(payload#>>'{data,channel,id}', '')
  ) END
$$
"""
# The client it is about: data.client_id or data.client.id, or data.id of a client event.
EVENT_CLIENT = r"""
CREATE OR REPLACE FUNCTION console_event_client(payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT COALESCE(
    NULLIF(payload#>>'{data,client_id}', ''),
    NULLIF(payload#>>'{data,client,id}', ''),
    CASE WHEN payload->>'event' LIKE 'client%' THEN NULLIF(payload#>>'{data,id}', '') END
  )
$$
"""

INDEXES = {
    "console_event_channel": "webhooks_webhookevent (console_event_channel(payload))",
    "console_event_client": "webhooks_webhookevent (console_event_client(payload))",
    "console_timeline_recent": "clients_timelineentry (created_at, id)",
    "console_notification_recent": "clients_notification (created_at, id)",
    "console_client_name_trgm": "clients_client USING gin ((UPPER(name::text)) gin_trgm_ops)",
    "console_client_email_trgm": "clients_client USING gin ((UPPER(email::text)) gin_trgm_ops)",
    # "Needs attention" counts the numbers whose key could not be made.
    "console_channel_key_error": "channels_channel (partner_id) WHERE api_key_error <> ''",
}


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0003_stuck_number_elsewhere"),
        ("webhooks", "0002_sweep_index"),
        ("clients", "0006_phone_numbers_validated"),
        ("channels", "0002_api_key_error"),
    ]

    operations = [
        migrations.RunSQL(
            EVENT_CHANNEL, reverse_sql="DROP FUNCTION IF EXISTS console_event_channel(jsonb)"
        ),
        migrations.RunSQL(
            EVENT_CLIENT, reverse_sql="DROP FUNCTION IF EXISTS console_event_client(jsonb)"
        ),
        *[
            migrations.RunSQL(
                f"CREATE INDEX IF NOT EXISTS {name} ON {target}",
                reverse_sql=f"DROP INDEX IF EXISTS {name}",
            )
            for name, target in INDEXES.items()
        ],
    ]
