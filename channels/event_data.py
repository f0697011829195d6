"""The `data` of the channel's domain events: the same shape as the API shows (public ids
only; never a key)."""

from __future__ import annotations

from typing import Any

from channels.models import ApiKey, Channel


def channel_data(channel: Channel, **extra: Any) -> dict[str, Any]:
    onboarding = channel.onboarding
    return {
        "channel": {
            "id": channel.hub_channel_id,
            "status": channel.status,
            "permission": channel.permission,
            "phone_number": channel.phone_number,
            "client": channel.client.hub_client_id,
            "onboarding": str(onboarding.public_id) if onboarding is not None else None,
        },
        **extra,
    }


def api_key_data(key: ApiKey) -> dict[str, Any]:
    """What a receiver needs to fetch the key (never the key itself)."""
    channel_id = key.channel.hub_channel_id
    return channel_data(
        key.channel,
        api_key={
            "fingerprint": key.fingerprint,
            "last4": key.last4,
            "created_at": key.created_at.isoformat().replace("+00:00", "Z"),
            "url": f"/api/v1/channels/{channel_id}/api-key",
        },
    )
