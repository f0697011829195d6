"""The simulated hub's state: partners, clients, channels, keys, IO sessions, and the lookups
and helpers every part of the hub shares (hub.py puts the parts together).

One lock guards everything, so concurrent Partner API calls see a consistent hub: creating a
key revokes every earlier key of the channel atomically, as 360Dialog does.
"""

from __future__ import annotations

import hashlib
import secrets
import string
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from dialog360.signatures import IoSignatureEncoding
from hubsim import store
from hubsim.delivery import Delivery, Sender
from hubsim.faults import LIFECYCLE, Faults
from hubsim.scheduler import Scheduler

PaymentMode = Literal["partner", "direct"]
KEY_ADDRESS = "https://waba-v2.360dialog.io"
ALNUM = string.ascii_letters + string.digits


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
            "created_at": iso(self.created_at),
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
            "created_at": iso(self.created_at),
            "billing_started_at": iso(self.billing_started_at),
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


class HubState:
    """What the hub holds, its lock, and the lookups the other parts share. Every method here
    expects the caller to hold the lock."""

    lock: threading.RLock
    state_file: Path | None
    scheduler: Scheduler
    sender: Sender
    generation: int
    faults: Faults
    partners: dict[str, Partner]
    clients: dict[str, Client]
    channels: dict[str, Channel]
    io_sessions: dict[str, IoSession]
    used_io_signatures: set[str]
    deliveries: list[Delivery]
    api_calls: list[dict[str, Any]]
    _key_serial: int

    def _changed(self) -> None:
        """Keep the state on disk, when asked to (the caller holds the lock)."""
        if self.state_file is not None:
            store.save(self, self.state_file)

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


def steps_after(status: str, last: str | None) -> list[str]:
    """The lifecycle statuses after `status`, up to `last` (default: to the end)."""
    end = LIFECYCLE.index(last) + 1 if last else len(LIFECYCLE)
    return list(LIFECYCLE[LIFECYCLE.index(status) + 1 : end])


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def random_id(length: int) -> str:
    return "".join(secrets.choice(ALNUM) for _ in range(length))


def absolute_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
