"""The Partner API client for a partner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from channels.api_calls import PartnerApiCallLog
from dialog360.api import PartnerApiClient
from portal.models import Partner


class PartnerNotConnectedError(Exception):
    """The partner has no Partner API key: nothing can be asked of 360Dialog."""


@contextmanager
def partner_api(
    partner: Partner, *, channel_id: int | None = None, onboarding_id: int | None = None
) -> Iterator[PartnerApiClient]:
    """A client for the partner, closed when the block ends. Name the channel or onboarding its
    calls are made for: each call is then recorded for its story (channels.api_calls), when the
    block ends, whether it raised or not; without, only failures are."""
    if not partner.api_key:
        raise PartnerNotConnectedError(f"partner {partner.slug} has no Partner API key")
    log = PartnerApiCallLog(
        partner_id=partner.pk, channel_id=channel_id, onboarding_id=onboarding_id
    )
    try:
        with PartnerApiClient(
            base_url=partner.api_base_url,
            partner_id=partner.hub_partner_id,
            api_key=partner.api_key,
            observe=log.observe,
        ) as client:
            yield client
    finally:
        log.flush()
