"""Search across onboardings the way account managers type: a phone number in any usual
format (+49 151 ..., 0049 151 ..., 0151 ... national), 360Dialog's client and channel ids,
the CRM reference, an e-mail or a name.

Numbers are stored as digits, country code first. Each search is an index lookup at any data
size: ids and the CRM reference match exactly (b-tree), numbers and e-mails "contain" the term
through trigram indexes (console/migrations/0002)."""

from __future__ import annotations

import re

from django.db.models import Exists, OuterRef, Q, QuerySet

from channels.models import Channel
from clients.models import Onboarding

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


def onboarding_search(queryset: QuerySet[Onboarding], term: str) -> QuerySet[Onboarding]:
    term = term.strip()
    if not term:
        return queryset
    channel_ids = Channel.objects.filter(onboarding=OuterRef("pk"), hub_channel_id=term)
    match = (
        Q(email__icontains=term)
        | Q(contact_name__icontains=term)
        | Q(partner_payload=term)
        | Q(client__hub_client_id=term)
        | Q(Exists(channel_ids))
    )
    digits = phone_digits(term)
    if digits:
        numbers = Channel.objects.filter(onboarding=OuterRef("pk"), phone_number__contains=digits)
        match |= Q(phone_number__contains=digits) | Q(Exists(numbers))
    return queryset.filter(match)
