"""The simulated hub's state and rules, with no HTTP in sight (app.py serves them).

One lock guards everything, so concurrent Partner API calls see a consistent hub: creating a
key revokes every earlier key of the channel atomically, as 360Dialog does.
"""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from dialog360.ids import require_partner_id
from dialog360.io_link import normalize_number
from dialog360.redirect import format_redirect_query
from dialog360.signatures import (
    WEBHOOK_SIGNATURE_HEADER,
    IoSignatureEncoding,
    io_signature_matches,
    webhook_signature,
)
from hubsim import store
from hubsim.delivery import Delivery, Sender
from hubsim.faults import LIFECYCLE, Faults
from hubsim.scheduler import Scheduler

PaymentMode = Literal["partner", "direct"]
KEY_ADDRESS = "https://waba-v2.360dialog.io"
STEP_EVENTS = {status: f"channel_{status}" for status in LIFECYCLE}
MAX_PAGE = 100
_ALNUM = string.ascii_letters + string.digits


class HubError(Exception):
    """A request the hub refuses: HTTP status, developer message, details (360Dialog's meta)."""

    def __init__(self, status: int, message: str, details: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = list(details)


@dataclass
class Partner:
    partner_id: str
    api_key: str
    platform_secret: str = ""
    payment_mode: PaymentMode = "partner"
    require_io_signature: bool = False
    io_signature_encoding: IoSignatureEncoding = "hex"
    webhook_url: str = ""
    webhook_headers: dict[str, str] = field(default_factory=dict)
    redirect_url: str = ""  # the hub's global redirect URL, used when a link has none

    def public(self) -> dict[str, Any]:
        """Everything but the secrets."""
        return {
            "partner_id": self.partner_id,
            "payment_mode": self.payment_mode,
            "require_io_signature": self.require_io_signature,
            "io_signature_encoding": self.io_signature_encoding,
            "webhook_url": self.webhook_url,
            "redirect_url": self.redirect_url,
            "has_platform_secret": bool(self.platform_secret),
        }


@dataclass
class Client:
    id: str
    partner_id: str
    email: str
    name: str
    full_name: str
    partner_payload: str
    language: str
    created_at: datetime
    status: str = "active"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "partner_payload": self.partner_payload,
            "created_at": _iso(self.created_at),
            "contact_info": {
                "email": self.email,
                "full_name": self.full_name,
                "language": self.language,
                "country": "",
            },
        }


@dataclass
class ApiKey:
    id: str
    value: str
    app_id: str
    created_at: datetime
    revoked_at: datetime | None = None

    def as_json(self, *, with_value: bool) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "address": KEY_ADDRESS, "app_id": self.app_id}
        if with_value:
            data["api_key"] = self.value
        return data

    def summary(self) -> dict[str, Any]:
        """What tests may see: never the key itself, but the portal's own fingerprint of it."""
        return {
            "id": self.id,
            "app_id": self.app_id,
            "last4": self.value[-4:],
            "fingerprint": hashlib.sha256(self.value.encode()).hexdigest()[:16],
            "revoked": self.revoked_at is not None,
        }


@dataclass
class Channel:
    id: str
    partner_id: str
    client: Client
    phone_number: str
    phone_name: str
    created_at: datetime
    status: str = "created"
    permission: bool = False
    waba_id: str = ""
    billing_started_at: datetime | None = None
    keys: list[ApiKey] = field(default_factory=list)
    remaining_steps: list[str] = field(default_factory=list)  # statuses still ahead

    def as_json(self) -> dict[str, Any]:
        running = LIFECYCLE.index(self.status) >= LIFECYCLE.index("running")
        return {
            "id": self.id,
            "client_id": self.client.id,
            "status": self.status,
            "account_mode": "live",
            "created_at": _iso(self.created_at),
            "billing_started_at": _iso(self.billing_started_at),
            "terminated_at": None,
            "current_limit": "TIER_250",
            "current_quality_rating": "GREEN",
            "setup_info": {"phone_number": self.phone_number, "phone_name": self.phone_name},
            "waba_account": {
                "id": self.waba_id,
                "fb_account_status": "verified" if running else "pending",
                "namespace": "",
            },
            "client": {
                "id": self.client.id,
                "name": self.client.name,
                "contact_info": {"email": self.client.email},
            },
            "integration": {"enabled": False, "app_id": None, "state": None},
        }

    def current_key(self) -> ApiKey | None:
        return next((key for key in self.keys if key.revoked_at is None), None)


@dataclass
class IoSession:
    """One opening of the permission page, until the user grants or withdraws."""

    id: str
    partner_id: str
    params: dict[str, str]
    opened_at: datetime
    outcome: str = ""  # "granted" / "withdrawn" once done
    redirect: str = ""


@dataclass
class Batch:
    """The events of one onboarding, held back while faults reorder them."""

    order: str = "normal"  # webhook_order when the batch began
    pending: int = 0
    held: list[Delivery] = field(default_factory=list)


class Hub:
    def __init__(self, faults: Faults | None = None, state_file: Path | None = None) -> None:
        """`state_file`: where the state is kept across restarts (hubsim/store.py); read at
        start when it exists, rewritten after every change."""
        self.lock = threading.RLock()
        self.state_file = state_file
        self.initial_faults = faults or Faults()
        self.scheduler = Scheduler()
        self.sender = Sender(
            record=self._record_attempt, retry=self._retry_later, current=self._is_current
        )
        self.generation = 0
        self._reset_state()
        if state_file is not None and state_file.exists():
            store.load(self, state_file)
            with self.lock:
                for channel in self.channels.values():  # lifecycles resume where they stood
                    self._step_later(channel, self._batch())

    def _reset_state(self) -> None:
        self.faults = Faults(**self.initial_faults.as_dict())
        self.partners: dict[str, Partner] = {}
        self.clients: dict[str, Client] = {}
        self.channels: dict[str, Channel] = {}
        self.io_sessions: dict[str, IoSession] = {}
        self.used_io_signatures: set[str] = set()
        self.deliveries: list[Delivery] = []
        self.api_calls: list[dict[str, Any]] = []
        self._key_serial = 200000

    def close(self) -> None:
        self.scheduler.stop()
        self.sender.stop()

    # Control

    def reset(self) -> None:
        """Forget everything: partners, clients, channels, keys, deliveries; faults to their
        start values. Nothing from before the reset is sent afterwards: queued deliveries are
        dropped, and a delivery on the wire is waited for."""
        with self.lock:
            self.generation += 1
            self.scheduler.clear()
            self._reset_state()
            self._changed()
        self.sender.drain()  # outside the lock: the sender takes it to record an attempt

    def partner_register(self, **values: Any) -> Partner:
        with self.lock:
            partner_id = require_partner_id(values.get("partner_id", ""))
            if not values.get("api_key") and partner_id not in self.partners:
                raise ValueError("api_key is required for a new partner")
            current = self.partners.get(partner_id)
            known = set(Partner.__dataclass_fields__)
            unknown = sorted(set(values) - known)
            if unknown:
                raise ValueError(f"unknown partner fields {unknown}; known: {sorted(known)}")
            merged = {**(current.__dict__ if current else {}), **values}
            partner = Partner(**merged)
            for name in ("api_key", "platform_secret", "webhook_url", "redirect_url"):
                if not isinstance(getattr(partner, name), str):
                    raise ValueError(f"{name} must be a string")
            if not isinstance(partner.webhook_headers, dict):
                raise ValueError("webhook_headers must be an object")
            if partner.payment_mode not in ("partner", "direct"):
                raise ValueError("payment_mode must be partner or direct")
            if partner.io_signature_encoding not in ("hex", "base64"):
                raise ValueError("io_signature_encoding must be hex or base64")
            if partner.require_io_signature and not partner.platform_secret:
                raise ValueError("require_io_signature needs a platform_secret")
            self.partners[partner_id] = partner
            self._changed()
            return partner

    def faults_update(self, changes: dict[str, Any]) -> Faults:
        with self.lock:
            self.faults.update(changes)
            return self.faults

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "partners": [partner.public() for partner in self.partners.values()],
                "clients": [client.as_json() for client in self.clients.values()],
                "channels": [self.channel_state(channel.id) for channel in self.channels.values()],
                "faults": self.faults.as_dict(),
                "deliveries": self.delivery_log(),
                "io_sessions": [
                    session.__dict__ | {"opened_at": _iso(session.opened_at)}
                    for session in self.io_sessions.values()
                ],
                "api_calls": list(self.api_calls),
            }

    def channel_state(self, channel_id: str) -> dict[str, Any]:
        with self.lock:
            channel = self._channel(channel_id)
            current = channel.current_key()
            return {
                **channel.as_json(),
                "partner_id": channel.partner_id,
                "permission": channel.permission,
                "keys_created": len(channel.keys),
                "current_key": current.summary() if current else None,
                "keys": [key.summary() for key in channel.keys],
            }

    def delivery_log(self) -> list[dict[str, Any]]:
        with self.lock:
            return [
                {
                    "partner_id": delivery.partner_id,
                    "event": delivery.event,
                    "event_id": delivery.event_id,
                    "duplicate": delivery.duplicate,
                    "body": json.loads(delivery.body),
                    "signature": delivery.headers.get(WEBHOOK_SIGNATURE_HEADER),
                    "attempts": list(delivery.attempts),
                }
                for delivery in self.deliveries
            ]

    def idle(self) -> bool:
        """No lifecycle step pending and every delivery delivered or given up on."""
        with self.lock:
            stepping = any(channel.remaining_steps for channel in self.channels.values())
            return not stepping and all(delivery.done for delivery in self.deliveries)

    def partner(self, partner_id: str) -> Partner:
        with self.lock:
            return self._partner(partner_id)

    # Integrated Onboarding

    def io_open(self, partner_id: str, params: dict[str, str], now: float) -> IoSession:
        """Open the permission page; refuses what the real hub refuses."""
        with self.lock:
            partner = self._partner(partner_id)
            if partner.require_io_signature:
                self._io_signature_check(partner, params, now)
            redirect_url = params.get("redirect_url") or partner.redirect_url
            if redirect_url and not _absolute_http(redirect_url):
                raise HubError(400, "redirect_url must be an absolute http(s) URL")
            session = IoSession(
                id=secrets.token_urlsafe(16),
                partner_id=partner_id,
                params=dict(params),
                opened_at=_now(),
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
                    id=_random_id(10),
                    partner_id=partner_id,
                    email=email,
                    name=name.strip() or email,
                    full_name=name.strip(),
                    partner_payload=partner_payload,
                    language=language,
                    created_at=_now(),
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
                    id=_random_id(8),
                    partner_id=partner_id,
                    client=client,
                    phone_number=number,
                    phone_name=client.name,
                    created_at=_now(),
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
                channel.remaining_steps = _steps_after("created", self.faults.stop_at)
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
                        key.revoked_at = key.revoked_at or _now()
                event = "channel_permission_granted" if granted else "channel_permission_revoked"
                batch = self._batch()
                self._emit(partner, event, channel.as_json(), batch)
                self._flush_if_done(batch)
                self._changed()
            return channel

    def advance(self, channel_id: str, to: str | None = None) -> Channel:
        """Walk a channel on from where it stands (halted by stop_at) up to `to`, or to the end."""
        with self.lock:
            channel = self._channel(channel_id)
            if to is not None and to not in LIFECYCLE:
                raise HubError(400, f"to must be one of {', '.join(LIFECYCLE)}")
            batch = self._batch()
            if not channel.remaining_steps:
                channel.remaining_steps = _steps_after(channel.status, to)
                self._step_later(channel, batch)
                self._changed()
            return channel

    def event_send(
        self, *, partner_id: str, event: str, channel_id: str = "", data: Any = None
    ) -> None:
        """Send any event now: a channel's object as data, or the data given."""
        with self.lock:
            partner = self._partner(partner_id)
            if channel_id:
                data = self._channel(channel_id).as_json()
            elif data is None:
                raise HubError(400, "give channel_id or data")
            batch = self._batch()
            self._emit(partner, event, data, batch)
            self._flush_if_done(batch)

    # Partner API

    def api_authenticate(self, partner_id: str, api_key: str | None) -> Partner:
        with self.lock:
            partner = self.partners.get(partner_id)
            if (
                partner is None
                or not api_key
                or not secrets.compare_digest(api_key.encode(), partner.api_key.encode())
            ):
                raise HubError(401, "Invalid API key for this partner")
            return partner

    def api_fault(self, operation: str) -> int | None:
        """The next scripted error status for this operation, if any (consumed)."""
        with self.lock:
            self.api_calls.append({"operation": operation})
            faults = self.faults
            if faults.api_errors and faults.api_errors_for in (None, operation):
                return faults.api_errors.pop(0)
            return None

    def api_list(
        self, partner_id: str, kind: Literal["clients", "channels"], query: dict[str, str]
    ) -> dict[str, Any]:
        with self.lock:
            rows: list[dict[str, Any]]
            if kind == "clients":
                rows = [c.as_json() for c in self.clients.values() if c.partner_id == partner_id]
            else:
                rows = [c.as_json() for c in self.channels.values() if c.partner_id == partner_id]
        filters = _json_query(query.get("filters"), "filters")
        if not isinstance(filters, dict):
            raise HubError(400, "filters must be a JSON object")
        rows = [row for row in rows if all(row.get(k) == v for k, v in filters.items())]
        sort = query.get("sort") or "-created_at"
        key = sort.lstrip("-")
        if key not in ("created_at", "id", "status", "name"):
            raise HubError(400, f"cannot sort by {key}")
        rows.sort(key=lambda row: str(row.get(key) or ""), reverse=sort.startswith("-"))
        limit = _int_query(query.get("limit"), "limit", 20)
        offset = _int_query(query.get("offset"), "offset", 0)
        limit = min(max(limit, 1), MAX_PAGE)
        page = rows[offset : offset + limit]
        return {
            "count": len(page),
            "filters": filters,
            "sort": [sort],
            "limit": limit,
            "offset": offset,
            "total": len(rows),
            ("clients" if kind == "clients" else "partner_channels"): page,
        }

    def api_shared_numbers(self, partner_id: str, client_id: str) -> dict[str, Any]:
        with self.lock:
            client = self.clients.get(client_id)
            if client is None or client.partner_id != partner_id:
                raise HubError(404, "Client not found")
            partner = self._partner(partner_id)
            shared = [
                {"channel_id": channel.id, "phone_number": channel.phone_number}
                for channel in self._channels_of(client)
                if partner.payment_mode == "partner" or channel.permission
            ]
            return {"shared_client_numbers": shared}

    def api_key_create(self, partner_id: str, channel_id: str) -> dict[str, Any]:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            partner = self._partner(partner_id)
            if channel.status not in ("running", "live"):
                raise HubError(
                    400, "Channel is not in running state", [f"status: {channel.status}"]
                )
            if partner.payment_mode == "direct" and not channel.permission:
                raise HubError(403, "Partner has no permission to manage this channel")
            now = _now()
            for key in channel.keys:
                key.revoked_at = key.revoked_at or now
            self._key_serial += 1
            key = ApiKey(
                id=str(self._key_serial),
                value="".join(secrets.choice(_ALNUM) for _ in range(32)),
                app_id="".join(secrets.choice(string.digits) for _ in range(6)),
                created_at=now,
            )
            channel.keys.append(key)
            self._changed()
            body = key.as_json(with_value=True)
            if self.faults.api_key_shape == "list":
                return {"api_keys": [body]}
            return body

    def api_keys_list(self, partner_id: str, channel_id: str) -> dict[str, Any]:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            current = [key.as_json(with_value=False) for key in channel.keys if not key.revoked_at]
            return {"api_keys": current}

    def api_key_delete(self, partner_id: str, channel_id: str, key_id: str) -> None:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            key = next((k for k in channel.keys if k.id == key_id and not k.revoked_at), None)
            if key is None:
                raise HubError(404, "API key not found")
            key.revoked_at = _now()
            self._changed()

    def api_webhook_url_set(self, partner_id: str, url: object) -> dict[str, Any]:
        if not isinstance(url, str) or not _absolute_http(url):
            raise HubError(400, "webhook_url must be an absolute http(s) URL")
        with self.lock:
            self._partner(partner_id).webhook_url = url
            self._changed()
            return {"webhook_url": url}

    # Lifecycle and webhooks

    def _step_later(self, channel: Channel, batch: Batch) -> None:
        if channel.remaining_steps:
            batch.pending += 1
            self.scheduler.call_later(self.faults.webhook_delay, lambda: self._step(channel, batch))

    def _step(self, channel: Channel, batch: Batch) -> None:
        with self.lock:
            batch.pending -= 1
            if self.channels.get(channel.id) is not channel or not channel.remaining_steps:
                self._flush_if_done(batch)
                return  # reset meanwhile
            partner = self._partner(channel.partner_id)
            status = channel.remaining_steps.pop(0)
            channel.status = status
            if status == "running":
                channel.billing_started_at = _now()
            self._emit(partner, STEP_EVENTS[status], channel.as_json(), batch)
            if status == "ready" and partner.payment_mode == "direct" and channel.permission:
                self._emit(partner, "channel_permission_granted", channel.as_json(), batch)
            self._step_later(channel, batch)
            self._flush_if_done(batch)
            self._changed()

    def _emit(self, partner: Partner, event: str, data: Any, batch: Batch) -> None:
        faults = self.faults
        if "*" in faults.drop_events or event in faults.drop_events or not partner.webhook_url:
            return
        event_id = f"evt_{secrets.token_hex(8)}" if faults.send_event_ids else None
        payload = {"event": event, "data": data}
        if event_id:
            payload = {"id": event_id, **payload}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **partner.webhook_headers}
        signature = self._signature(partner, body)
        if signature is not None:
            headers[WEBHOOK_SIGNATURE_HEADER] = signature
        copies = 2 if faults.duplicate_webhooks else 1
        for copy in range(copies):
            delivery = Delivery(
                partner_id=partner.partner_id,
                url=partner.webhook_url,
                event=event,
                event_id=event_id,
                body=body,
                headers=headers,
                retries_left=faults.webhook_retries,
                retry_delay=faults.webhook_retry_delay,
                duplicate=copy > 0,
                generation=self.generation,
            )
            self.deliveries.append(delivery)
            if batch.order == "normal":
                self.sender.send(delivery)
            else:
                batch.held.append(delivery)

    def _signature(self, partner: Partner, body: bytes) -> str | None:
        mode = self.faults.webhook_signature
        if mode == "none" or not partner.platform_secret:
            return None
        if mode == "wrong":
            return webhook_signature(body, partner.platform_secret + "-wrong")
        value = webhook_signature(body, partner.platform_secret)
        if mode == "sha256":
            return f"sha256={value}"
        if mode == "upper":
            return value.upper()
        return value

    def _batch(self) -> Batch:
        return Batch(order=self.faults.webhook_order)

    def _flush_if_done(self, batch: Batch) -> None:
        if batch.pending or not batch.held:
            return
        held, batch.held = batch.held, []
        if batch.order == "reverse":
            held.reverse()
        else:
            random.Random(self.faults.seed).shuffle(held)  # noqa: S311
        for delivery in held:
            self.sender.send(delivery)

    def _record_attempt(self, delivery: Delivery, attempt: dict[str, Any], final: bool) -> None:
        with self.lock:
            delivery.attempts.append(attempt)
            delivery.done = final

    def _is_current(self, delivery: Delivery) -> bool:
        with self.lock:
            return delivery.generation == self.generation

    def _retry_later(self, delay: float, delivery: Delivery) -> None:
        if self._is_current(delivery):
            self.scheduler.call_later(delay, lambda: self.sender.send(delivery))

    def _changed(self) -> None:
        """Keep the state on disk, when asked to (the caller holds the lock)."""
        if self.state_file is not None:
            store.save(self, self.state_file)

    # Lookups

    def _partner(self, partner_id: str) -> Partner:
        partner = self.partners.get(partner_id)
        if partner is None:
            raise HubError(404, f"Unknown partner {partner_id}")
        return partner

    def _channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise HubError(404, "Channel not found")
        return channel

    def _partner_channel(self, partner_id: str, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if channel is None or channel.partner_id != partner_id:
            raise HubError(404, "Channel not found")
        return channel

    def _client_for(self, partner: Partner, email: str) -> Client | None:
        return next(
            (
                client
                for client in self.clients.values()
                if client.partner_id == partner.partner_id and client.email.lower() == email.lower()
            ),
            None,
        )

    def _channels_of(self, client: Client) -> list[Channel]:
        return [channel for channel in self.channels.values() if channel.client is client]

    def _own_channel(self, client: Client | None, channel_id: str) -> Channel:
        channel = self.channels.get(channel_id)
        if client is None or channel is None or channel.client is not client:
            raise HubError(400, "That number does not belong to this account.")
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


def _steps_after(status: str, last: str | None) -> list[str]:
    """The lifecycle statuses after `status`, up to `last` (default: to the end)."""
    end = LIFECYCLE.index(last) + 1 if last else len(LIFECYCLE)
    return list(LIFECYCLE[LIFECYCLE.index(status) + 1 : end])


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _random_id(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def _absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _json_query(raw: str | None, name: str) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise HubError(400, f"{name} is not valid JSON") from None


def _int_query(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise HubError(400, f"{name} must be a whole number")
    return int(raw)
