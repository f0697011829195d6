# Webhook tokens are stored as their SHA-256 only. Existing URLs keep working: each stored
# token is replaced by its hash, which is what a delivery's token is compared with.

import hashlib

from django.db import migrations, models

import portal.tokens


def hash_tokens(apps, schema_editor):
    Partner = apps.get_model("portal", "Partner")
    for partner in Partner.objects.all().only("pk", "webhook_token"):
        digest = hashlib.sha256(partner.webhook_token.encode()).hexdigest()
        Partner.objects.filter(pk=partner.pk).update(webhook_token_hash=digest)


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0002_webhook_signature_follows_the_secret"),
    ]

    operations = [
        migrations.AddField(
            model_name="partner",
            name="webhook_token_hash",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(hash_tokens, migrations.RunPython.noop, elidable=False),
        migrations.RemoveField(model_name="partner", name="webhook_token"),
        migrations.AlterField(
            model_name="partner",
            name="webhook_token_hash",
            field=models.CharField(
                default=portal.tokens.unusable_token_hash,
                editable=False,
                max_length=64,
                unique=True,
            ),
        ),
    ]
