"""What proves that a client's 360Dialog signup went through one of our onboardings.

A client id, a channel id and an onboarding's public id are not secrets: they travel in
redirect URLs and page addresses, so anyone can put them in a return or in the `partner`
parameter of their own IO link. What 360Dialog sends as `partner` is therefore the onboarding's
public id signed with the portal's secret key (its *link code*): only the IO link we built for
that onboarding carries it, and 360Dialog stores it on the client (`partner_payload`) and echoes
it in `client_created` and the Partner API. An invite's CRM reference is sent instead when the
account manager set one.
"""

from __future__ import annotations

import uuid

from django.core import signing

from clients.models import Onboarding

_SIGNER = signing.Signer(salt="clients.onboarding.partner-payload")


def onboarding_link_code(onboarding: Onboarding) -> str:
    """The `partner` value of this onboarding's IO link when it has no CRM reference."""
    return _SIGNER.sign(str(onboarding.public_id))


def onboarding_named_by(payload: str) -> uuid.UUID | None:
    """The public id of the onboarding whose link code `payload` is, or None (a CRM
    reference, a bare or edited id, another deployment's code)."""
    try:
        return uuid.UUID(_SIGNER.unsign(payload))
    except (signing.BadSignature, ValueError):
        return None


def payload_names(payload: str, onboarding: Onboarding) -> bool:
    """360Dialog's `partner_payload` for a client says the client signed up through
    `onboarding`'s own IO link: its link code, or the CRM reference it was sent with."""
    if not payload:
        return False
    if onboarding.partner_payload:
        return payload == onboarding.partner_payload
    return onboarding_named_by(payload) == onboarding.public_id
