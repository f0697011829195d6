"""Deliveries point at events.DomainEvent (the same table, renamed by events 0001); the model
leaves this app's state only. Endpoints may ask for `onboarding.stuck`."""

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_domain_event_from_outbound"),
        ("outbound", "0001_outbox_endpoints_deliveries"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="event",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="events.domainevent",
                    ),
                ),
                migrations.DeleteModel(name="OutboundEvent"),
            ],
        ),
        migrations.AlterField(
            model_name="endpoint",
            name="event_types",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        (t, t)
                        for t in (
                            "onboarding.started",
                            "onboarding.returned",
                            "onboarding.live",
                            "onboarding.failed",
                            "onboarding.stuck",
                            "channel.status_changed",
                            "channel.permission_changed",
                            "channel.api_key_ready",
                            "channel.api_key_revoked",
                        )
                    ],
                    max_length=40,
                ),
                blank=True,
                default=list,
                help_text="Empty: every event.",
                size=None,
            ),
        ),
    ]
