"""The simulated hub, with no HTTP in sight (app.py serves it), put together from its parts:
its state and shared lookups (state.py), the permission page and permission flow
(permissions.py), lifecycles and webhook delivery (lifecycle.py), and the Partner API
(partner_api.py). Control and inspection, for the simulator's own endpoints, are here.

One lock guards everything, so concurrent Partner API calls see a consistent hub: creating a
key revokes every earlier key of the channel atomically, as 360Dialog does.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from dialog360.ids import require_partner_id
from dialog360.signatures import WEBHOOK_SIGNATURE_HEADER
from hubsim import store
from hubsim.delivery import Sender
from hubsim.faults import Faults
from hubsim.lifecycle import STEP_EVENTS
from hubsim.partner_api import MAX_PAGE, PartnerApi
from hubsim.permissions import IntegratedOnboarding
from hubsim.scheduler import Scheduler
from hubsim.state import (
    KEY_ADDRESS,
    ApiKey,
    Batch,
    Channel,
    Client,
    HubError,
    IoSession,
    Partner,
    PaymentMode,
    iso,
)

__all__ = [
    "KEY_ADDRESS",
    "MAX_PAGE",
    "STEP_EVENTS",
    "ApiKey",
    "Batch",
    "Channel",
    "Client",
    "Hub",
    "HubError",
    "IoSession",
    "Partner",
    "PaymentMode",
]


class Hub(IntegratedOnboarding, PartnerApi):
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
        self.partners = {}
        self.clients = {}
        self.channels = {}
        self.io_sessions = {}
        self.used_io_signatures = set()
        self.deliveries = []
        self.api_calls = []
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
                    session.__dict__ | {"opened_at": iso(session.opened_at)}
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
