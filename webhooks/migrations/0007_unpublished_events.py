"""What the relay publishes next is a table of its own (webhooks.models.UnpublishedEvent), so
that publishing an event no longer rewrites its row and every index on it. Deliveries the relay
had not published yet are carried over."""

import django.db.models.deletion
from django.db import migrations, models

CARRY_OVER = """
INSERT INTO webhooks_unpublishedevent (event_id)
SELECT id FROM webhooks_webhookevent WHERE status = 'received' AND enqueued_at IS NULL
"""
# Back: those the relay published (it no longer marks them) are marked, so that the partial
# index holds only those it has not.
MARK_PUBLISHED = """
UPDATE webhooks_webhookevent SET enqueued_at = received_at
WHERE status = 'received' AND enqueued_at IS NULL
  AND id NOT IN (SELECT event_id FROM webhooks_unpublishedevent)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0006_deliveries_do_not_notify"),
    ]

    operations = [
        migrations.CreateModel(
            name="UnpublishedEvent",
            fields=[
                (
                    "event",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="webhooks.webhookevent",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(CARRY_OVER, reverse_sql=MARK_PUBLISHED),
        migrations.RemoveIndex(
            model_name="webhookevent",
            name="webhookevent_unrelayed",
        ),
    ]
