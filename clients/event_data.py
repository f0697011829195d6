"""The `data` of the onboarding's domain events: the same shape as the API shows (public ids
only)."""

from __future__ import annotations

from typing import Any

from clients.models import Onboarding


def onboarding_data(onboarding: Onboarding, **extra: Any) -> dict[str, Any]:
    client = onboarding.client
    return {
        "onboarding": {
            "id": str(onboarding.public_id),
            "status": onboarding.status,
            "email": onboarding.email,
            "crm_reference": onboarding.partner_payload,
            "client": client.hub_client_id if client is not None else None,
        },
        **extra,
    }
