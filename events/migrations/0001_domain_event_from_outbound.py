"""The outbox row moves from `outbound` to `events`, keeping its table's rows: the table is
renamed, the state gains events.DomainEvent (outbound 0002 drops OutboundEvent from its state).
Rows already there were fanned out when they were recorded, so they count as relayed."""

import uuid

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("portal", "0004_partner_api_key_reads_switch"),
        ("outbound", "0001_outbox_endpoints_deliveries"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE outbound_outboundevent RENAME TO events_domainevent",
                    reverse_sql="ALTER TABLE events_domainevent RENAME TO outbound_outboundevent",
                ),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="DomainEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "public_id",
                            models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
                        ),
                        ("type", models.CharField(db_index=True, max_length=40)),
                        ("data", models.JSONField()),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="portal.partner",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["-id"],
                        "indexes": [
                            models.Index(fields=["partner", "id"], name="outbound_event_feed")
                        ],
                    },
                ),
            ],
        ),
        migrations.RenameIndex(
            model_name="domainevent", new_name="domain_event_feed", old_name="outbound_event_feed"
        ),
        migrations.AddField(
            model_name="domainevent",
            name="relayed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(
            "UPDATE events_domainevent SET relayed_at = created_at",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="domainevent",
            index=models.Index(
                condition=models.Q(("relayed_at__isnull", True)),
                fields=["id"],
                name="domain_event_unrelayed",
            ),
        ),
    ]
