"""Deliveries are no longer sent to the broker by the request that stores them: the relay
publishes committed rows not yet enqueued (`enqueued_at` null). A partial index finds them, and a
trigger wakes the relay when one is stored."""

from django.db import migrations, models

TRIGGER = """
CREATE TRIGGER webhookevent_relay_notify
AFTER INSERT ON webhooks_webhookevent
FOR EACH ROW WHEN (NEW.status = 'received' AND NEW.enqueued_at IS NULL)
EXECUTE FUNCTION portal_relay_notify()
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_relay_notify_function"),
        ("webhooks", "0003_webhookevent_enqueued_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                condition=models.Q(("enqueued_at__isnull", True), ("status", "received")),
                fields=["id"],
                name="webhookevent_unrelayed",
            ),
        ),
        migrations.RunSQL(
            TRIGGER,
            reverse_sql="DROP TRIGGER IF EXISTS webhookevent_relay_notify ON webhooks_webhookevent",
        ),
    ]
