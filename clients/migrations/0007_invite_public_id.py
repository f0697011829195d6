import uuid

from django.db import migrations, models


def give_public_ids(apps, schema_editor):
    Invite = apps.get_model("clients", "Invite")
    for invite in Invite._base_manager.filter(public_id__isnull=True).only("pk"):
        invite.public_id = uuid.uuid4()
        invite.save(update_fields=["public_id"])


class Migration(migrations.Migration):
    dependencies = [("clients", "0006_phone_numbers_validated")]

    operations = [
        migrations.AddField(
            model_name="invite",
            name="public_id",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_public_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="invite",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, unique=True, editable=False),
        ),
    ]
