"""Endpoints get a public id for the API (never the primary key in a URL): added empty, one
fresh UUID per existing row, then unique and required."""

import uuid

from django.db import migrations, models


def fill(apps, schema_editor):
    Endpoint = apps.get_model("outbound", "Endpoint")
    for endpoint in Endpoint._base_manager.filter(public_id__isnull=True).only("pk"):
        Endpoint._base_manager.filter(pk=endpoint.pk).update(public_id=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("outbound", "0002_delivery_event_is_a_domain_event")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="endpoint",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
