# Invite tokens are stored as their SHA-256 only. Links already sent keep working: each stored
# token is replaced by its hash, which is what a visitor's token is compared with.

import hashlib

from django.db import migrations, models


def hash_tokens(apps, schema_editor):
    Invite = apps.get_model("clients", "Invite")
    for invite in Invite._base_manager.all().only("pk", "token"):
        digest = hashlib.sha256(invite.token.encode()).hexdigest()
        Invite._base_manager.filter(pk=invite.pk).update(token_hash=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0004_invites_and_return_data"),
    ]

    operations = [
        migrations.AddField(
            model_name="invite",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="invite", name="token"),
        migrations.AlterField(
            model_name="invite",
            name="token_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
    ]
