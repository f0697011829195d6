"""Search across onboardings the way account managers type: a phone number in any usual
format (+49 151 ..., 0049 151 ..., 0151 ... national), 360Dialog's client and channel ids,
the CRM reference, an e-mail or a name.

Numbers are stored as digits, country code first. Each search is an index lookup at any data
size: ids and the CRM reference match exactly (b-tree), numbers, e-mails and names "contain" the
term through trigram indexes (console/migrations/0002, 0004); the arms are one UNION query of
ids, since an OR across tables would read them whole."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import CharField, Func, Q, QuerySet

from channels.models import Channel
from clients.models import Client, Onboarding
from webhooks.models import WebhookEvent

_PHONE = re.compile(r"\+?[\d\s\-/().]{5,}")


def phone_digits(term: str) -> str | None:
    """The digits to look for in stored numbers, or None if `term` is no phone number.
    International forms lose their prefix (+, 00); a national one its trunk 0, leaving the
    digits the stored international number ends with."""
    term = term.strip()
    if not _PHONE.fullmatch(term):
        return None
    digits = re.sub(r"\D", "", term)
    if len(digits) < 5:
        return None
    if term.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0"):
        return digits[1:]
    return digits


# At most this many matches are listed by a search (each arm of it is an index lookup).
SEARCH_LIMIT = 1000
# "Contains" needs three characters for a trigram index to find it.
CONTAINS_MIN = 3


def _ids(arms: list[QuerySet[Any]]) -> list[Any]:
    """The ids the arms find together: one UNION query, each arm an index lookup (an OR across
    tables would read them whole)."""
    first, *rest = [arm.order_by() for arm in arms]
    combined = first.union(*rest) if rest else first
    return [row[0] for row in combined[:SEARCH_LIMIT]]


def onboarding_ids_matching(term: str) -> list[int]:
    """Onboardings whose e-mail or name contains `term`, whose number or numbers hold it as a
    phone number, whose CRM reference, 360Dialog client id or channel id it is."""
    arms: list[QuerySet[Any]] = [
        Onboarding.objects.filter(partner_payload=term).values_list("pk"),
        Onboarding.objects.filter(client__hub_client_id=term).values_list("pk"),
        Channel.objects.filter(hub_channel_id=term, onboarding__isnull=False).values_list(
            "onboarding_id"
        ),
    ]
    if len(term) >= CONTAINS_MIN:
        arms += [
            Onboarding.objects.filter(email__icontains=term).values_list("pk"),
            Onboarding.objects.filter(contact_name__icontains=term).values_list("pk"),
        ]
    digits = phone_digits(term)
    if digits:
        arms += [
            Onboarding.objects.filter(phone_number__contains=digits).values_list("pk"),
            Channel.objects.filter(
                phone_number__contains=digits, onboarding__isnull=False
            ).values_list("onboarding_id"),
        ]
    return _ids(arms)


def onboarding_search(queryset: QuerySet[Onboarding], term: str) -> QuerySet[Onboarding]:
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(pk__in=onboarding_ids_matching(term))


def channel_ids_matching(term: str) -> list[int]:
    """Channels whose 360Dialog id, WABA id or client id `term` is, whose number holds it as a
    phone number, or whose client's name contains it."""
    arms: list[QuerySet[Any]] = [
        Channel.objects.filter(hub_channel_id=term).values_list("pk"),
        Channel.objects.filter(client__hub_client_id=term).values_list("pk"),
    ]
    if len(term) >= CONTAINS_MIN:
        arms.append(Channel.objects.filter(client__name__icontains=term).values_list("pk"))
    digits = phone_digits(term)
    if digits:
        arms.append(Channel.objects.filter(phone_number__contains=digits).values_list("pk"))
    return _ids(arms)


def channel_search(queryset: QuerySet[Channel], term: str) -> QuerySet[Channel]:
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(pk__in=channel_ids_matching(term))


def client_ids_matching(term: str) -> list[int]:
    """Clients whose 360Dialog id or CRM reference `term` is, whose name or e-mail contains
    it, or who have a number holding it as a phone number."""
    arms: list[QuerySet[Any]] = [
        Client.objects.filter(hub_client_id=term).values_list("pk"),
        Client.objects.filter(partner_payload=term).values_list("pk"),
    ]
    if len(term) >= CONTAINS_MIN:
        arms += [
            Client.objects.filter(name__icontains=term).values_list("pk"),
            Client.objects.filter(email__icontains=term).values_list("pk"),
        ]
    digits = phone_digits(term)
    if digits:
        arms.append(Channel.objects.filter(phone_number__contains=digits).values_list("client_id"))
    return _ids(arms)


def client_search(queryset: QuerySet[Client], term: str) -> QuerySet[Client]:
    term = term.strip()
    if not term:
        return queryset
    return queryset.filter(pk__in=client_ids_matching(term))


# ---------------------------------------------------------------------------------------------
# Webhook events: which channel and client each is about


class EventChannel(Func):
    """The 360Dialog channel id a webhook event is about (SQL function and index:
    console/migrations/0004)."""

    function = "console_event_channel"
    output_field = CharField()


class EventClient(Func):
    """The 360Dialog client id a webhook event is about."""

    function = "console_event_client"
    output_field = CharField()


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def event_refs(payload: object) -> tuple[str, str]:
    """(channel id, client id) a webhook event's payload is about, "" where none: the same
    reading as the SQL functions console_event_channel and console_event_client."""
    if not isinstance(payload, dict):
        return "", ""
    name = _text(payload.get("event"))
    data = payload.get("data")
    if not isinstance(data, dict):
        return "", ""
    nested_channel = data.get("channel")
    nested_client = data.get("client")
    channel = ""
    if not name.startswith("client"):
        channel = (
            _text(data.get("channel_id"))
            or _text(data.get("id"))
            or (_text(nested_channel.get("id")) if isinstance(nested_channel, dict) else "")
        )
    client = (
        _text(data.get("client_id"))
        or (_text(nested_client.get("id")) if isinstance(nested_client, dict) else "")
        or (_text(data.get("id")) if name.startswith("client") else "")
    )
    return channel, client


def webhook_event_search(
    queryset: QuerySet[WebhookEvent], term: str, *, partner_ids: list[int]
) -> QuerySet[WebhookEvent]:
    """Events by their 360Dialog event id, or about a channel or client the term finds (a
    channel or client id, a phone number in any usual format, a client's name or e-mail).
    `partner_ids` are the partners the user may see (the event id is looked up in their
    unique index)."""
    term = term.strip()
    if not term:
        return queryset
    channel_pks = channel_ids_matching(term)
    channels = list(
        Channel.objects.filter(pk__in=channel_pks).values_list("hub_channel_id", flat=True)
    )
    clients = [
        term,
        *Client.objects.filter(pk__in=client_ids_matching(term)).values_list(
            "hub_client_id", flat=True
        ),
    ]
    refs = queryset.alias(channel_ref=EventChannel("payload"), client_ref=EventClient("payload"))
    return refs.filter(
        Q(partner_id__in=partner_ids, dedupe_key=f"id:{term}")
        | Q(channel_ref__in=[term, *channels])
        | Q(client_ref__in=clients)
    )
