"""A stored delivery no longer wakes the relay with a notification: the relay looks for them
every RELAY_IDLE_SECONDS instead (portal/relay.py says why)."""

from django.db import migrations

TRIGGER = """
CREATE TRIGGER webhookevent_relay_notify
AFTER INSERT ON webhooks_webhookevent
FOR EACH ROW WHEN (NEW.status = 'received' AND NEW.enqueued_at IS NULL)
EXECUTE FUNCTION portal_relay_notify()
"""


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0005_fewer_indexes"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP TRIGGER IF EXISTS webhookevent_relay_notify ON webhooks_webhookevent",
            reverse_sql=TRIGGER,
        ),
    ]
