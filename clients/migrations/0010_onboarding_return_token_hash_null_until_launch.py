# An onboarding holds a return token's hash only once a launch has handed a token out. Until now
# every onboarding got the hash of a token nobody saw (at signup, for stand-ins made from
# webhooks, for returns without our token). Only a launch sets opened_at together with a real
# hash, so the hashes of onboardings never launched are placeholders: they become NULL.

from django.db import migrations, models


def forget_placeholder_hashes(apps, schema_editor):
    Onboarding = apps.get_model("clients", "Onboarding")
    Onboarding._base_manager.filter(opened_at__isnull=True).update(return_token_hash=None)


def restore_placeholder_hashes(apps, schema_editor):
    # A random 64-hex-digit value per row, as the column held before: no token matches it.
    schema_editor.execute(
        "UPDATE clients_onboarding SET return_token_hash = md5(random()::text) || "
        "md5(random()::text) WHERE return_token_hash IS NULL"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("clients", "0009_notification_html_body"),
    ]

    operations = [
        migrations.AlterField(
            model_name="onboarding",
            name="return_token_hash",
            field=models.CharField(
                blank=True, editable=False, max_length=64, null=True, unique=True
            ),
        ),
        migrations.RunPython(forget_placeholder_hashes, restore_placeholder_hashes, elidable=False),
    ]
