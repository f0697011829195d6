"""Integrated Onboarding: the permission page's sessions (with their IO signature check),
a client signing up or coming back to grant numbers, and permission given or withdrawn."""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from dialog360.io_link import normalize_number
from dialog360.redirect import format_redirect_query
from dialog360.signatures import io_signature_matches
from hubsim.lifecycle import Lifecycle
from hubsim.state import (
    Channel,
    Client,
    HubError,
    IoSession,
    Partner,
    absolute_http,
    random_id,
    steps_after,
    utc_now,
)


class IntegratedOnboarding(Lifecycle):
    def io_open(self, partner_id: str, params: dict[str, str], now: float) -> IoSession:
        """Open the permission page; refuses what the real hub refuses."""
        with self.lock:
            partner = self._partner(partner_id)
            if partner.require_io_signature:
                self._io_signature_check(partner, params, now)
            redirect_url = params.get("redirect_url") or partner.redirect_url
            if redirect_url and not absolute_http(redirect_url):
                raise HubError(400, "redirect_url must be an absolute http(s) URL")
            session = IoSession(
                id=secrets.token_urlsafe(16),
                partner_id=partner_id,
                params=dict(params),
                opened_at=utc_now(),
            )
            self.io_sessions[session.id] = session
            return session

    def io_session(self, session_id: str) -> IoSession:
        with self.lock:
            session = self.io_sessions.get(session_id)
            if session is None or session.outcome:
                raise HubError(400, "This permission request is finished or unknown; start again.")
            return session

    def io_complete(
        self,
        session_id: str,
        *,
        email: str,
        name: str,
        channel_ids: list[str],
        new_number: str,
        withdraw: bool,
    ) -> str:
        """Finish the permission page: the URL to redirect to ("" when there is none)."""
        with self.lock:
            session = self.io_session(session_id)
            partner = self._partner(session.partner_id)
            params = session.params
            if withdraw:
                client, revoked = self._withdraw(partner, email, channel_ids)
                granted: list[Channel] = []
            else:
                client, granted = self.onboard(
                    partner_id=partner.partner_id,
                    email=email,
                    name=name,
                    numbers=[new_number] if new_number.strip() else [],
                    existing=channel_ids,
                    partner_payload=params.get("partner", ""),
                    language=params.get("lang", "en"),
                )
                revoked = []
            session.outcome = "withdrawn" if withdraw else "granted"
            target = params.get("redirect_url") or partner.redirect_url
            if not target:
                return ""
            query = format_redirect_query(
                client.id,
                [channel.id for channel in granted],
                [channel.id for channel in revoked] if revoked else None,
                state=params.get("state") if self.faults.echo_state else None,
                style=self.faults.redirect_style,
            )
            session.redirect = _with_query(target, query)
            return session.redirect

    def onboard(
        self,
        *,
        partner_id: str,
        email: str,
        name: str,
        numbers: list[str],
        existing: Iterable[str] = (),
        partner_payload: str = "",
        language: str = "en",
    ) -> tuple[Client, list[Channel]]:
        """A client signs up (or comes back) and connects numbers: new numbers become channels
        that walk through their lifecycle, sending webhooks. On a Direct Payment hub, every
        channel named here is also granted to the partner."""
        with self.lock:
            partner = self._partner(partner_id)
            email = email.strip()
            if "@" not in email:
                raise HubError(400, "Enter an e-mail address.")
            normalized = []
            for number in numbers:
                try:
                    normalized.append(normalize_number(number))
                except ValueError as error:
                    raise HubError(400, str(error)) from None
            client = self._client_for(partner, email)
            created = client is None
            if client is None:
                client = Client(
                    id=random_id(10),
                    partner_id=partner_id,
                    email=email,
                    name=name.strip() or email,
                    full_name=name.strip(),
                    partner_payload=partner_payload,
                    language=language,
                    created_at=utc_now(),
                )
            chosen = [self._own_channel(client, channel_id) for channel_id in existing]
            new: list[Channel] = []
            for number in normalized:
                found = next(
                    (c for c in self._channels_of(client) if c.phone_number == number), None
                )
                if found is not None:
                    chosen.append(found)
                    continue
                channel = Channel(
                    id=random_id(8),
                    partner_id=partner_id,
                    client=client,
                    phone_number=number,
                    phone_name=client.name,
                    created_at=utc_now(),
                    waba_id="".join(random.choices(string.digits, k=15)),  # noqa: S311
                )
                new.append(channel)
            if not chosen and not new:
                raise HubError(400, "Choose or add at least one phone number.")
            if created:
                self.clients[client.id] = client
            batch = self._batch()
            if created:
                self._emit(partner, "client_created", {"client": client.as_json()}, batch)
            for channel in new:
                self.channels[channel.id] = channel
                self._emit(partner, "channel_created", channel.as_json(), batch)
                channel.remaining_steps = steps_after("created", self.faults.stop_at)
            grant = partner.payment_mode == "direct"
            for channel in chosen + new:
                if grant and not channel.permission:
                    channel.permission = True
                    if channel not in new:  # new ones announce it after `ready`
                        self._emit(partner, "channel_permission_granted", channel.as_json(), batch)
            for channel in new:
                self._step_later(channel, batch)
            self._flush_if_done(batch)
            self._changed()
            return client, [*chosen, *new]

    def permission_set(self, channel_id: str, granted: bool) -> Channel:
        """The client grants or withdraws permission in the Client Hub (a webhook follows)."""
        with self.lock:
            channel = self._channel(channel_id)
            partner = self._partner(channel.partner_id)
            if channel.permission != granted:
                channel.permission = granted
                if not granted:
                    for key in channel.keys:
                        key.revoked_at = key.revoked_at or utc_now()
                event = "channel_permission_granted" if granted else "channel_permission_revoked"
                batch = self._batch()
                self._emit(partner, event, channel.as_json(), batch)
                self._flush_if_done(batch)
                self._changed()
            return channel

    def _withdraw(
        self, partner: Partner, email: str, channel_ids: list[str]
    ) -> tuple[Client, list[Channel]]:
        if partner.payment_mode != "direct":
            raise HubError(400, "Permission can only be withdrawn on a Direct Payment hub.")
        client = self._client_for(partner, email.strip())
        if client is None:
            raise HubError(400, "There is no account with this e-mail address.")
        chosen = [self._own_channel(client, channel_id) for channel_id in channel_ids]
        if not chosen:
            raise HubError(400, "Choose the numbers to withdraw permission from.")
        for channel in chosen:
            self.permission_set(channel.id, granted=False)
        return client, chosen

    def _io_signature_check(self, partner: Partner, params: dict[str, str], now: float) -> None:
        signature = params.get("io_signature", "")
        timestamp = params.get("io_timestamp", "")
        if not signature or not timestamp:
            raise HubError(403, "This link must carry io_signature and io_timestamp.")
        if not io_signature_matches(
            partner.partner_id,
            partner.platform_secret,
            signature,
            timestamp,
            partner.io_signature_encoding,
        ):
            raise HubError(403, "The io_signature does not match.")
        if abs(now - int(timestamp)) > self.faults.io_signature_max_age:
            raise HubError(403, "The io_signature has expired; open the link again.")
        if signature in self.used_io_signatures:
            raise HubError(403, "This io_signature was already used; open the link again.")
        self.used_io_signatures.add(signature)
        self._changed()


def _with_query(url: str, query: str) -> str:
    """`url` with `query` appended to its own query, before any fragment."""
    parts = urlsplit(url)
    merged = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit(parts._replace(query=merged))
