"""A token may have the `endpoints` scope: manage the partner's outbound endpoints."""

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("api", "0001_api_tokens")]

    operations = [
        migrations.RemoveConstraint(model_name="apitoken", name="apitoken_known_scopes"),
        migrations.AlterField(
            model_name="apitoken",
            name="scopes",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(
                    choices=[
                        ("read", "read: onboardings, clients, channels, events"),
                        ("invites", "invites: create and revoke invites"),
                        ("keys", "keys: read a channel's API key"),
                        (
                            "endpoints",
                            "endpoints: list, add, rotate and disable outbound endpoints",
                        ),
                    ],
                    max_length=16,
                ),
                default=list,
                size=None,
            ),
        ),
        migrations.AddConstraint(
            model_name="apitoken",
            constraint=models.CheckConstraint(
                condition=models.Q(scopes__contained_by=["read", "invites", "keys", "endpoints"]),
                name="apitoken_known_scopes",
            ),
        ),
    ]
