"""The simulated hub's state on disk (`--state FILE`), so that a restart remembers 360Dialog's
side as the real hub would: partners, clients, channels with their status, permission and keys.

The file is rewritten (atomically, readable by us alone: it holds keys and secrets) after every
change, under the hub's lock, so what a Partner API answer said is on disk before the answer
leaves. Deliveries, IO sessions and the call log are not kept: a webhook not yet delivered when
the simulator stopped is not sent again (the portal's reconciliation catches up), and a
lifecycle still walking resumes where it stood.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubsim.state import HubState

VERSION = 1


def snapshot(hub: HubState) -> dict[str, Any]:
    """What is kept; the caller holds the hub's lock."""
    return {
        "version": VERSION,
        "key_serial": hub._key_serial,
        "partners": [asdict(partner) for partner in hub.partners.values()],
        "clients": [_dated(asdict(client)) for client in hub.clients.values()],
        "channels": [
            _dated(
                {
                    **{name: value for name, value in vars(channel).items() if name != "keys"},
                    "client": channel.client.id,
                    "keys": [_dated(asdict(key)) for key in channel.keys],
                }
            )
            for channel in hub.channels.values()
        ],
        "used_io_signatures": sorted(hub.used_io_signatures),
    }


def save(hub: HubState, path: Path) -> None:
    """Write the hub's state to `path` atomically; the caller holds the hub's lock."""
    text = json.dumps(snapshot(hub))
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def load(hub: HubState, path: Path) -> int:
    """Put the state kept in `path` into an empty hub; the number of channels restored.
    Raises ValueError for a file this version cannot read."""
    from hubsim.state import ApiKey, Channel, Client, Partner

    data = json.loads(path.read_text())
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path} is not a hub simulator state file of version {VERSION}")
    with hub.lock:
        hub._key_serial = int(data["key_serial"])
        for values in data["partners"]:
            partner = Partner(**values)
            hub.partners[partner.partner_id] = partner
        for values in data["clients"]:
            client = Client(**_undated(values, "created_at"))
            hub.clients[client.id] = client
        for values in data["channels"]:
            keys = [
                ApiKey(**_undated(key, "created_at", "revoked_at")) for key in values.pop("keys")
            ]
            client = hub.clients[values.pop("client")]
            channel = Channel(
                client=client,
                keys=keys,
                **_undated(values, "created_at", "billing_started_at"),
            )
            hub.channels[channel.id] = channel
        hub.used_io_signatures = set(data["used_io_signatures"])
    return len(data["channels"])


def _dated(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in values.items()
    }


def _undated(values: dict[str, Any], *names: str) -> dict[str, Any]:
    return {
        name: datetime.fromisoformat(value) if name in names and value else value
        for name, value in values.items()
    }
