"""A recorded domain event wakes the relay (`manage.py relay`) once its transaction commits,
instead of a task sent per event after commit."""

from django.db import migrations

TRIGGER = """
CREATE TRIGGER domainevent_relay_notify
AFTER INSERT ON events_domainevent
FOR EACH ROW EXECUTE FUNCTION portal_relay_notify()
"""


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0007_relay_notify_function"),
        ("events", "0001_domain_event_from_outbound"),
    ]

    operations = [
        migrations.RunSQL(
            TRIGGER,
            reverse_sql="DROP TRIGGER IF EXISTS domainevent_relay_notify ON events_domainevent",
        ),
    ]
