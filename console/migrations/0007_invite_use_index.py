"""Which invite started an onboarding is noted on its "created" timeline entry
(clients.onboarding); the invite list finds each invite's first use through this index."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0006_stuck_webhook_failed"),
        ("clients", "0010_onboarding_return_token_hash_null_until_launch"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS console_timeline_invite ON clients_timelineentry "
            "((data ->> 'invite'), created_at) WHERE kind = 'created'",
            reverse_sql="DROP INDEX IF EXISTS console_timeline_invite",
        ),
    ]
