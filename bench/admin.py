"""The console at scale, in-process: `python -m bench.admin`.

Loads 100,000 onboardings (with their clients), 200,000 channels, 100,000 API keys, 300,000
timeline entries, 100,000 mails, 100,000 Partner API calls and 1,000,000 webhook events into a
fresh database of its own (BENCH_DATABASE_URL, default `portal_bench_admin`; made with
generate_series SQL, a few minutes on two cores), then times each console page through Django's
test client with its full middleware stack: the home page, every list (first page, filtered,
searched) and an onboarding's page, each against baselines measured in the same run (GET
/healthz and the admin's login page). Prints per page: the median of `--runs` requests, the
ratio to the login page, and the number of queries. The target is under 300 ms per page.

`--keep` reuses the loaded database of an earlier run (only the pages are timed again).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_ENV_FILE": "",
        "SECRET_KEY": "bench-only-" + uuid.uuid4().hex * 2,
        "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA=",
        "ALLOWED_HOSTS": "testserver",
        "PUBLIC_BASE_URL": "https://bench.example",
        "SECURE_SSL_REDIRECT": "false",
        "STATICFILES_MANIFEST": "false",
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_admin"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "LOG_LEVEL": "ERROR",
    }
)

ONBOARDINGS = 100_000
CHANNELS = 2 * ONBOARDINGS
EVENTS = 1_000_000
TARGET_MS = 300.0

# Every row belongs to a partner by its number: alpha holds 70 %, bravo 29 %, charlie 1 %.
PARTNER_OF = "(CASE WHEN {n} % 100 < 70 THEN {a} WHEN {n} % 100 < 99 THEN {b} ELSE {c} END)"


def fresh_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def insert(table: str, values: dict[str, str], source: str) -> int:
    """INSERT INTO `table` SELECT `values` FROM `source`; columns that are NOT NULL without a
    default and not given get an empty value of their type (Django keeps defaults in Python),
    so a column added later does not break the load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'",
            [table],
        )
        empty = {
            "boolean": "false",
            "jsonb": "'{}'::jsonb",
            "integer": "0",
            "bigint": "0",
            "timestamp with time zone": "now()",
            "bytea": "''::bytea",
        }
        for column, data_type in cursor.fetchall():
            if column not in values and column != "id":
                values[column] = empty.get(data_type, "''")
        columns = ", ".join(values)
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {', '.join(values.values())} {source}"
        )
        count = int(cursor.rowcount)
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT coalesce(max(id), 1) FROM {table}))"
        )
    return count


def load() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from channels.models import ApiKey
    from portal.encryption import EncryptedTextField
    from portal.models import Partner, PartnerMembership

    call_command("migrate", verbosity=0)
    partners = [
        Partner.objects.create(
            slug=slug,
            name=f"{slug.title()} Hub",
            hub_partner_id=f"{slug}PA",
            api_key=f"partner-api-key-{slug}",
            platform_secret=f"platform-secret-{slug}",
        )
        for slug in ("alpha", "bravo", "charlie")
    ]
    a, b, c = (partner.pk for partner in partners)
    users = get_user_model().objects
    superuser = users.create_superuser("bench-root", "root@bench.example", "x")
    manager = users.create_user("bench-manager", "manager@bench.example", "x", is_staff=True)
    PartnerMembership.objects.create(
        user=manager, partner=partners[1], role=PartnerMembership.Role.MANAGER
    )
    key_field = ApiKey._meta.get_field("key")
    if not isinstance(key_field, EncryptedTextField):
        raise SystemExit("ApiKey.key is no longer an EncryptedTextField")
    encrypted_key = key_field.get_prep_value("bench-channel-api-key-0000")
    partner_of = PARTNER_OF.format(n="i", a=a, b=b, c=c)
    started = time.perf_counter()
    counts = {}
    counts["clients"] = insert(
        "clients_client",
        {
            "id": "i",
            "created_at": "now() - i * interval '100 seconds'",
            "updated_at": "now() - i * interval '100 seconds'",
            "hub_client_id": "'cl' || lpad(i::text, 7, '0')",
            "name": "'Client ' || i",
            "email": "'client' || i || '@bench.example'",
            "partner_id": partner_of,
        },
        f"FROM generate_series(1, {ONBOARDINGS}) AS i",
    )
    # Statuses by i % 10: 0-4 live, 5-6 returned, 7 opened, 8 started, 9 failed.
    counts["onboardings"] = insert(
        "clients_onboarding",
        {
            "id": "i",
            "created_at": "now() - i * interval '100 seconds'",
            "updated_at": "now() - i * interval '100 seconds' + interval '20 minutes'",
            "public_id": "gen_random_uuid()",
            "status": "(ARRAY['live','live','live','live','live','returned','returned',"
            "'opened','started','failed'])[i % 10 + 1]",
            "email": "'client' || i || '@bench.example'",
            "contact_name": "'Contact ' || i",
            "phone_number": "'49151' || lpad(i::text, 8, '0')",
            "partner_payload": "'crm-' || i",
            "lang": "'en'",
            "return_token_hash": "md5(i::text) || md5((-i)::text)",
            "expires_at": "now() - i * interval '100 seconds' + interval '2 days'",
            "opened_at": "CASE WHEN i % 10 <> 8 THEN now() - i * interval '100 seconds' "
            "+ interval '1 minute' END",
            "returned_at": "CASE WHEN i % 10 < 7 OR i % 10 = 9 THEN now() - i * interval "
            "'100 seconds' + interval '3 minutes' END",
            "completed_at": "CASE WHEN i % 10 < 5 THEN now() - i * interval '100 seconds' "
            "+ (i % 300) * interval '1 minute' END",
            "verified": "i % 50 <> 0",
            "client_id": "CASE WHEN i % 10 < 7 OR i % 10 = 9 THEN i END",
            "partner_id": partner_of,
            "return_data": "'{}'::jsonb",
        },
        f"FROM generate_series(1, {ONBOARDINGS}) AS i",
    )
    channel_partner = PARTNER_OF.format(n="((j + 1) / 2)", a=a, b=b, c=c)
    counts["channels"] = insert(
        "channels_channel",
        {
            "id": "j",
            "created_at": "now() - ((j + 1) / 2) * interval '100 seconds' + interval '4 minutes'",
            "updated_at": "now() - ((j + 1) / 2) * interval '100 seconds' + interval '9 minutes'",
            "status_changed_at": "now() - ((j + 1) / 2) * interval '100 seconds' "
            "+ interval '9 minutes'",
            "hub_channel_id": "'ch' || lpad(j::text, 7, '0')",
            "status": "CASE WHEN ((j + 1) / 2) % 10 < 5 THEN 'live' "
            "WHEN ((j + 1) / 2) % 10 = 5 THEN 'running' ELSE 'submitted' END",
            "phone_number": "'49170' || lpad(j::text, 8, '0')",
            "phone_name": "'Number ' || j",
            "permission": "'granted'",
            "client_id": "(j + 1) / 2",
            "onboarding_id": "(j + 1) / 2",
            "partner_id": channel_partner,
            "api_key_error": "CASE WHEN j % 1000 = 19 THEN 'HTTP 400: not eligible' ELSE '' END",
        },
        f"FROM generate_series(1, {CHANNELS}) AS j "
        "WHERE ((j + 1) / 2) % 10 < 7 OR ((j + 1) / 2) % 10 = 9",
    )
    counts["api keys"] = _api_keys(encrypted_key)
    counts["timeline entries"] = insert(
        "clients_timelineentry",
        {
            "created_at": "o.created_at + n * interval '1 minute'",
            "kind": "(ARRAY['launch','return','webhook'])[n]",
            "message": "'Step ' || n || ' of onboarding ' || o.id",
            "data": "CASE WHEN n = 3 THEN jsonb_build_object('event_id', 'evt_' || (2 * o.id)) "
            "ELSE '{}'::jsonb END",
            "onboarding_id": "o.id",
            "partner_id": "o.partner_id",
        },
        "FROM clients_onboarding o CROSS JOIN generate_series(1, 3) AS n",
    )
    counts["mails"] = insert(
        "clients_notification",
        {
            "key": "'welcome:' || o.id",
            "kind": "'key_ready'",
            "subject": "'Your number is ready'",
            "body": "'Hello'",
            "recipients": "jsonb_build_array(o.email)",
            "created_at": "o.created_at + interval '12 minutes'",
            "sent_at": "o.created_at + interval '13 minutes'",
            "onboarding_id": "o.id",
            "partner_id": "o.partner_id",
        },
        "FROM clients_onboarding o",
    )
    counts["stuck flags"] = insert(
        "console_stuckflag",
        {
            "reason": "'channel_not_running'",
            "detail": "'+49 170 is still submitted'",
            "since": "o.created_at",
            "flagged_at": "o.created_at + interval '1 day'",
            "onboarding_id": "o.id",
            "partner_id": "o.partner_id",
        },
        "FROM clients_onboarding o WHERE o.id % 10 = 6 AND o.id % 7 = 0",
    )
    counts["audit entries"] = insert(
        "audit_auditentry",
        {
            "created_at": "now() - k * interval '10 minutes'",
            "actor": "'bench-manager'",
            "action": "(ARRAY['note','resync','retry_key','reveal_key'])[k % 4 + 1]",
            "target_type": "'onboarding'",
            "target_id": "k::text",
            "target_label": "'onboarding ' || k",
            "outcome": "'ok'",
            "data": "'{}'::jsonb",
            "partner_id": PARTNER_OF.format(n="k", a=a, b=b, c=c),
        },
        "FROM generate_series(1, 20000) AS k",
    )
    if _table_exists("channels_partnerapicall"):
        counts["Partner API calls"] = insert(
            "channels_partnerapicall",
            {
                "at": "now() - k * interval '100 seconds'",
                "operation": "(ARRAY['list_channels','list_api_keys','create_api_key'])[k % 3 + 1]",
                "outcome": "CASE WHEN k % 50 = 0 THEN '503' ELSE '200' END",
                "ok": "k % 50 <> 0",
                "duration_ms": "40 + k % 200",
                "error": "CASE WHEN k % 50 = 0 THEN 'HTTP 503: unavailable' ELSE '' END",
                "channel_id": "2 * k",
                "onboarding_id": "k",
                "partner_id": PARTNER_OF.format(n="k", a=a, b=b, c=c),
            },
            f"FROM generate_series(1, {ONBOARDINGS}) AS k WHERE k % 10 < 7 OR k % 10 = 9",
        )
    if _table_exists("console_pageevent"):
        # Signup pages viewed twice per onboarding; every tenth onboarding's popup blocked.
        counts["page events"] = insert(
            "console_pageevent",
            {
                "at": "now() - k * interval '40 seconds'",
                "kind": "'signup_viewed'",
                "page": "md5(k::text)",
                "partner_id": PARTNER_OF.format(n="k", a=a, b=b, c=c),
            },
            f"FROM generate_series(1, {2 * ONBOARDINGS}) AS k",
        ) + insert(
            "console_pageevent",
            {
                "at": "o.created_at + interval '1 minute'",
                "kind": "'popup_blocked'",
                "page": "md5('o' || o.id::text)",
                "onboarding_id": "o.id",
                "partner_id": "o.partner_id",
            },
            "FROM clients_onboarding o WHERE o.id % 10 = 0",
        )
    # Events name channels 1..200,000 in turn; every seventh is the client's client_created.
    event_channel = f"(k % {CHANNELS} + 1)"
    payload = (
        "CASE WHEN k % 7 = 0 THEN jsonb_build_object('id', 'evt_' || k, 'event', "
        "'client_created', 'data', jsonb_build_object('client', jsonb_build_object('id', "
        f"'cl' || lpad((({event_channel} + 1) / 2)::text, 7, '0'), 'name', 'Client'))) "
        "ELSE jsonb_build_object('id', 'evt_' || k, 'event', "
        "(ARRAY['channel_created','channel_submitted','channel_ready','channel_running',"
        "'channel_live','channel_permission_granted'])[k % 6 + 1], 'data', jsonb_build_object("
        f"'id', 'ch' || lpad({event_channel}::text, 7, '0'), 'client_id', "
        f"'cl' || lpad((({event_channel} + 1) / 2)::text, 7, '0'), 'status', 'running', "
        "'setup_info', jsonb_build_object('phone_number', "
        f"'+49 170 ' || lpad({event_channel}::text, 8, '0')))) END"
    )
    counts["webhook events"] = insert(
        "webhooks_webhookevent",
        {
            "received_at": "now() - k * interval '10 seconds'",
            "dedupe_key": "'id:evt_' || k",
            "hub_event_id": "'evt_' || k",
            "event_type": "p->>'event'",
            "raw_body": "convert_to(p::text, 'UTF8')",
            "payload": "p",
            "headers": "'{}'::jsonb",
            "status": "CASE WHEN k % 500 = 0 THEN 'failed' ELSE 'processed' END",
            "attempts": "1",
            "processed_at": "now() - k * interval '10 seconds'",
            "last_error": "''",
            "traceback": "''",
            "partner_id": PARTNER_OF.format(n=f"(({event_channel} + 1) / 2)", a=a, b=b, c=c),
        },
        f"FROM (SELECT k, {payload} AS p FROM generate_series(1, {EVENTS}) AS k) AS rows",  # noqa: S608
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"loaded in {time.perf_counter() - started:.0f} s: "
        + ", ".join(f"{count:,} {name}" for name, count in counts.items())
    )
    return {"superuser": superuser, "manager": manager}


def _api_keys(encrypted_key: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO channels_apikey (created_at, hub_key_id, key, last4, fingerprint, "
            "address, app_id, revoked_reason, partner_id, channel_id) "
            "SELECT c.created_at + interval '10 minutes', 'key' || c.id, %s, '0000', "
            "substr(md5(c.id::text), 1, 16), 'https://waba.bench.example', '', '', "
            "c.partner_id, c.id FROM channels_channel c WHERE c.status = 'live'",
            [encrypted_key],
        )
        return int(cursor.rowcount)


def _table_exists(table: str) -> bool:
    from django.db import connection

    return table in connection.introspection.table_names()


def timed(fetch: Callable[[], Any], runs: int) -> tuple[float, int, int]:
    """The median milliseconds of `runs` requests after one to warm up, the queries of one, and
    its status code."""
    from django.db import connection

    executed = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = fetch()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), len(executed), response.status_code


def pages(story_id: int, channel: str, phone_national: str) -> list[tuple[str, str, str]]:
    """(who, name, URL) of every page measured."""
    ob = "/admin/clients/onboarding/"
    ch = "/admin/channels/channel/"
    ev = "/admin/webhooks/webhookevent/"
    tl = "/admin/clients/timelineentry/"
    listed = [
        ("root", "home", "/admin/"),
        ("manager", "home (manager of one partner)", "/admin/"),
        ("root", "onboardings", ob),
        ("root", "onboardings: status=returned", ob + "?status__exact=returned"),
        ("root", "onboardings: partner=charlie", ob + "?partner__id__exact={charlie}"),
        ("root", "onboardings: stuck", ob + "?stuck=yes"),
        ("root", "onboardings: search national number", ob + f"?q={phone_national}"),
        ("root", "onboardings: search channel id", ob + f"?q={channel}"),
        ("root", "onboardings: search e-mail", ob + "?q=client4711@bench"),
        ("manager", "onboardings (manager)", ob),
        ("manager", "onboardings: search (manager)", ob + f"?q={phone_national}"),
        ("root", "onboarding page", f"{ob}{story_id}/change/"),
        ("root", "channels", ch),
        ("root", "channels: status=running", ch + "?status__exact=running"),
        ("root", "channels: partner=charlie", ch + "?partner__id__exact={charlie}"),
        ("root", "channels: search number", ch + f"?q={phone_national}"),
        ("root", "channels: search id", ch + f"?q={channel}"),
        ("root", "webhook events", ev),
        ("root", "webhook events: status=failed", ev + "?status__exact=failed"),
        ("root", "webhook events: partner=charlie", ev + "?partner__id__exact={charlie}"),
        ("root", "webhook events: last 24 h", ev + "?received=24h"),
        ("root", "webhook events: search event id", ev + "?q=evt_123456"),
        ("root", "webhook events: search channel id", ev + f"?q={channel}"),
        ("root", "webhook events: search number", ev + f"?q={phone_national}"),
        ("root", "webhook events: search client", ev + "?q=cl0004711"),
        ("manager", "webhook events (manager)", ev),
        ("root", "timeline", tl),
        ("root", "timeline: kind=return", tl + "?kind__exact=return"),
        ("root", "timeline: partner=charlie", tl + "?partner__id__exact={charlie}"),
        ("root", "timeline: search", tl + "?q=client4711@bench.example"),
        ("root", "clients", "/admin/clients/client/"),
        ("root", "clients: search id", "/admin/clients/client/?q=cl0004711"),
        ("root", "mails", "/admin/clients/notification/"),
        ("root", "mails: search", "/admin/clients/notification/?q=client4711@bench.example"),
        ("root", "API keys", "/admin/channels/apikey/"),
        ("root", "API keys: search", f"/admin/channels/apikey/?q={channel}"),
        ("root", "stuck flags", "/admin/console/stuckflag/"),
        ("root", "audit log", "/admin/audit/auditentry/"),
        (
            "root",
            "audit log: partner=charlie",
            "/admin/audit/auditentry/?partner__id__exact={charlie}",
        ),
    ]
    return listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="reuse the loaded database")
    options = parser.parse_args()
    if not options.keep:
        fresh_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from portal.models import Partner

    if options.keep:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        staff = get_user_model().objects
        users = {
            "superuser": staff.get(username="bench-root"),
            "manager": staff.get(username="bench-manager"),
        }
    else:
        users = load()
    cache.clear()
    charlie = Partner.objects.get(slug="charlie").pk
    clients = {"root": Client(), "manager": Client()}
    clients["root"].force_login(users["superuser"])
    clients["manager"].force_login(users["manager"])
    anonymous = Client()
    # Onboarding 4711 (bravo, live) with its two numbers; 0170 ... is its first number's
    # national form.
    story_id, channel, phone_national = 4711, "ch0009421", "0170%2000009421"

    rows: list[tuple[str, float, int, int]] = []
    healthz = timed(lambda: anonymous.get("/healthz"), options.runs)
    login = timed(lambda: anonymous.get("/admin/login/"), options.runs)
    rows.append(("baseline: GET /healthz", *healthz))
    rows.append(("baseline: admin login page", *login))
    for who, name, url in pages(story_id, channel, phone_national):
        http = clients[who]
        target = url.replace("{charlie}", str(charlie))
        rows.append((name, *timed(partial(http.get, target), options.runs)))
    from django.test import override_settings

    # The home page's figures are kept for HOME_FIGURES_SECONDS: the rows above are what a
    # manager sees within that time; these, when they are computed anew.
    with override_settings(HOME_FIGURES_SECONDS=0):
        for who, name in (
            ("root", "home, figures computed"),
            ("manager", "home (manager), figures computed"),
        ):
            rows.append((name, *timed(partial(clients[who].get, "/admin/"), options.runs)))
    login_ms = login[0]
    print(f"\n{'page':48} {'median ms':>10} {'x login':>8} {'queries':>8}  status")
    slow = []
    for name, ms, queries, status in rows:
        mark = "" if ms < TARGET_MS else "  SLOW"
        print(f"{name:48} {ms:10.1f} {ms / login_ms:8.1f} {queries:8d}  {status}{mark}")
        if ms >= TARGET_MS or status != 200:
            slow.append(name)
    print(
        f"\n{len(rows) - 2} pages; over {TARGET_MS:.0f} ms or not 200: {', '.join(slow) or 'none'}"
    )
    sys.exit(1 if any(row[3] != 200 for row in rows) else 0)


if __name__ == "__main__":
    main()
