"""Which onboarding a client and its channels belong to.

`clients/` knows clients, onboardings and timelines; `channels/` knows channels and keys.
Linking needs both (a client's channels move with it, an onboarding's status follows its
channels), so it lives here, above `clients/`, and `clients/` never imports from `channels/`.
Every function runs in its caller's transaction and partner scope.
"""

from __future__ import annotations

from django.db import connection
from django.utils import timezone

from channels.models import ApiKey, Channel
from clients.models import Client, Notification, Onboarding, TimelineEntry
from clients.proof import onboarding_named_by
from clients.services import client_upsert, onboarding_status_set, timeline_add
from dialog360.objects import ClientInfo
from portal.models import Partner


def client_apply(*, partner: Partner, info: ClientInfo) -> Client:
    """360Dialog's view of a client (a client_created webhook, the Partner API): stored, and
    linked to the onboarding its `partner` payload names."""
    client = client_upsert(partner=partner, hub_client_id=info.id, info=info)
    if info.partner_payload:
        onboarding_link_by_payload(client=client, payload=info.partner_payload)
    return client


def onboarding_link_by_payload(*, client: Client, payload: str) -> None:
    """Our IO link sends the onboarding's link code as `partner` (clients.proof); 360Dialog
    keeps it on the client. The onboarding it names, if it has no client yet, belongs to this
    client. A bare or edited id names none; a CRM reference names the invited onboarding it
    was sent for (onboarding_invited_by)."""
    public_id = onboarding_named_by(payload)
    if public_id is None:
        onboarding = onboarding_invited_by(client=client, payload=payload)
    else:
        onboarding = (
            Onboarding.objects.select_for_update()
            .filter(public_id=public_id, client__isnull=True)
            .first()
        )
    if onboarding is not None:
        onboarding_attach_client(onboarding=onboarding, client=client)


def onboarding_invited_by(*, client: Client, payload: str) -> Onboarding | None:
    """The onboarding an invite's CRM reference was sent for, when its return never came (a
    closed or lost popup). The CRM reference is on an onboarding only when it was started from
    the invite's link, whose token only the invited client holds (or by the partner's own
    platform); 360Dialog keeps the reference on the client it made from that IO link. Taken as
    proof only together with the rest of what the invite fixed: the same e-mail address at
    360Dialog, a launch within the onboarding's lifetime, no client yet, and exactly one such
    onboarding (a reference the manager reused names none)."""
    if not payload or not client.email:
        return None
    candidates = list(
        Onboarding.objects.select_for_update()
        .filter(
            partner_payload=payload,
            client__isnull=True,
            started_by_webhook=False,
            verified=True,
            opened_at__isnull=False,
            opened_at__lte=timezone.now(),
            expires_at__gt=timezone.now(),
            email__iexact=client.email,
        )
        .exclude(dead_end=Onboarding.DeadEnd.NUMBER_ELSEWHERE)[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def onboarding_number_elsewhere(*, onboarding: Onboarding, client: Client) -> bool:
    """A return with our token names a client whose numbers belong to another onboarding (the
    client signed up again with a number already connected). Nothing is linked; the client's
    page says so and what to do, and the console flags it for an account manager. False (and
    nothing written) when the client has no other onboarding."""
    if not onboarding.verified or onboarding.client_id is not None:
        return False
    other = (
        Onboarding.objects.filter(client=client).exclude(pk=onboarding.pk).order_by("-created_at")
    ).first()
    if other is None:
        return False
    if onboarding.dead_end != Onboarding.DeadEnd.NUMBER_ELSEWHERE:
        onboarding.dead_end = Onboarding.DeadEnd.NUMBER_ELSEWHERE
        onboarding.save(update_fields=["dead_end", "updated_at"])
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.ERROR,
            message=(
                f"The return names client {client.hub_client_id}, whose numbers are already "
                f"connected through onboarding {other.public_id}: not linked. The client's page "
                "says the number is already connected; get in touch with the client."
            ),
            data={"claimed_client": client.hub_client_id, "connected_in": str(other.public_id)},
        )
    return True


def onboarding_attach_client(*, onboarding: Onboarding, client: Client) -> None:
    """The onboarding belongs to this client. Channels and history that webhooks put on a
    stand-in onboarding (made before we knew which one it was) move over to it."""
    onboarding.client = client
    onboarding.save(update_fields=["client", "updated_at"])
    stand_in_ids = list(
        Onboarding.objects.filter(client=client, started_by_webhook=True)
        .exclude(pk=onboarding.pk)
        .values_list("pk", flat=True)
    )
    if not stand_in_ids:
        return  # nothing arrived before it: no channels to move, none to derive a status from
    stand_ins = Onboarding.objects.filter(pk__in=stand_in_ids)
    Channel.objects.filter(onboarding__in=stand_ins).update(onboarding=onboarding)
    Notification.objects.filter(onboarding__in=stand_ins).update(onboarding=onboarding)
    TimelineEntry.objects.filter(onboarding__in=stand_ins).exclude(
        kind=TimelineEntry.Kind.CREATED
    ).update(onboarding=onboarding)
    stand_ins.delete()
    onboarding_refresh(onboarding=onboarding)


def onboarding_for_client(*, client: Client) -> Onboarding:
    """The client's latest onboarding. A client that arrived only through 360Dialog (the hub's
    own link, or before the portal) gets a stand-in one, so that account managers see it like
    any other."""
    onboarding = (
        Onboarding.objects.select_for_update().filter(client=client).order_by("-created_at").first()
    )
    if onboarding is not None:
        return onboarding
    onboarding = Onboarding.objects.create(
        partner=client.partner,
        client=client,
        started_by_webhook=True,
        email=client.email,
        contact_name=client.contact_name,
        partner_payload=client.partner_payload,
        expires_at=timezone.now(),
    )
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.CREATED,
        message="First seen in a 360Dialog webhook (not started on the signup page).",
    )
    return onboarding


def onboarding_refresh(*, onboarding: Onboarding) -> None:
    """Derive the onboarding's status from its channels: live once each has its key. One
    query: how many channels it has, and how many of them lack a current key."""
    with connection.cursor() as cursor:
        cursor.execute(_REFRESH_COUNTS, [onboarding.partner_id, onboarding.pk])
        channels, without_key = cursor.fetchone()
    if channels and not without_key:
        onboarding_status_set(
            onboarding=onboarding,
            status=Onboarding.Status.LIVE,
            reason="every number has its API key",
        )


# Written out: the ORM's aggregate with a filtered Exists took longer to build than to run, on
# the path of every key. The partner's id keeps it to its tenant, as the scoped managers do.
_REFRESH_COUNTS = f"""
SELECT count(*), count(*) FILTER (
    WHERE NOT EXISTS (
        SELECT 1 FROM {ApiKey._meta.db_table} k WHERE k.channel_id = ch.id AND k.revoked_at IS NULL
    )
)
FROM {Channel._meta.db_table} ch
WHERE ch.partner_id = %s AND ch.onboarding_id = %s
"""  # noqa: S608 - the table names are the models' own; values are parameters
