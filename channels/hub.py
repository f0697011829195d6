"""The Partner API client for a partner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from channels.api_calls import PartnerApiCallLog
from dialog360.api import PartnerApiClient
from portal.models import Partner


class PartnerNotConnectedError(Exception):
    """The partner has no Partner API key: nothing can be asked of 360Dialog."""


class PartnerApiSession:
    """A partner's Partner API client for work on one channel after another: opened on first
    use, kept (one connection to 360Dialog) until `close`, which also writes the calls'
    records (channels.api_calls) in one statement."""

    def __init__(self, partner: Partner) -> None:
        self.partner = partner
        self.log = PartnerApiCallLog(partner_id=partner.pk)
        self._client: PartnerApiClient | None = None

    @contextmanager
    def about(
        self, *, channel_id: int | None = None, onboarding_id: int | None = None
    ) -> Iterator[PartnerApiClient]:
        """The client, its calls in the block recorded for this channel or onboarding (without
        either, only failures are)."""
        if not self.partner.api_key:
            raise PartnerNotConnectedError(f"partner {self.partner.slug} has no Partner API key")
        if self._client is None:
            self._client = PartnerApiClient(
                base_url=self.partner.api_base_url,
                partner_id=self.partner.hub_partner_id,
                api_key=self.partner.api_key,
                observe=self.log.observe,
            )
        self.log.channel_id, self.log.onboarding_id = channel_id, onboarding_id
        try:
            yield self._client
        finally:
            self.log.channel_id = self.log.onboarding_id = None

    def close(self) -> None:
        try:
            if self._client is not None:
                self._client.close()
                self._client = None
        finally:
            self.log.flush()


@contextmanager
def partner_api_session(partner: Partner) -> Iterator[PartnerApiSession]:
    session = PartnerApiSession(partner)
    try:
        yield session
    finally:
        session.close()


@contextmanager
def partner_api(
    partner: Partner, *, channel_id: int | None = None, onboarding_id: int | None = None
) -> Iterator[PartnerApiClient]:
    """A client for the partner, closed when the block ends. Name the channel or onboarding its
    calls are made for: each call is then recorded for its story (channels.api_calls), when the
    block ends, whether it raised or not; without, only failures are."""
    with (
        partner_api_session(partner) as session,
        session.about(channel_id=channel_id, onboarding_id=onboarding_id) as client,
    ):
        yield client
