"""The Partner API client for a partner."""

from __future__ import annotations

from dialog360.api import PartnerApiClient
from portal.metrics import observe_partner_api
from portal.models import Partner


class PartnerNotConnectedError(Exception):
    """The partner has no Partner API key: nothing can be asked of 360Dialog."""


def partner_api(partner: Partner) -> PartnerApiClient:
    if not partner.api_key:
        raise PartnerNotConnectedError(f"partner {partner.slug} has no Partner API key")
    return PartnerApiClient(
        base_url=partner.api_base_url,
        partner_id=partner.hub_partner_id,
        api_key=partner.api_key,
        observe=observe_partner_api,
    )
