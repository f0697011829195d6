"""Partner webhook events: raw bytes -> a typed event.

Every known event becomes a typed object; an event we do not know is kept raw as UnknownEvent,
never an exception. A body that is not a JSON object with an ``event`` name, or a known event
whose data lacks what the portal relies on, raises PayloadError.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dialog360.ids import is_id
from dialog360.objects import (
    ChannelInfo,
    ClientInfo,
    PayloadError,
    as_object,
    parse_channel,
    parse_client,
)

CLIENT_EVENTS = frozenset({"client_created"})
# Lifecycle events: data is the channel object, and the portal relies on it.
CHANNEL_EVENTS = frozenset(
    {
        "channel_created",
        "channel_submitted",
        "channel_ready",
        "channel_running",
        "channel_live",
        "channel_permission_granted",
        # Not on 360Dialog's published list; the hub simulator sends it when a client withdraws
        # permission, and the portal acts on it if 360Dialog ever does.
        "channel_permission_revoked",
    }
)
# Events about a channel whose data 360Dialog does not document: read loosely, kept whole.
NOTICE_EVENTS = frozenset(
    {
        "account_violation",
        "account_restriction",
        "cancellation_request",
        "cancellation_revoke",
        "cancellation_processed",
        "template_messaging_enabled",
        "template_messaging_disabled",
    }
)
TEMPLATE_EVENTS = frozenset({"waba_template_status_changed"})
KNOWN_EVENTS = CLIENT_EVENTS | CHANNEL_EVENTS | NOTICE_EVENTS | TEMPLATE_EVENTS
MAX_EVENT_ID_LENGTH = 200


@dataclass(frozen=True)
class ClientEvent:
    type: str
    event_id: str | None
    client: ClientInfo


@dataclass(frozen=True)
class ChannelEvent:
    type: str
    event_id: str | None
    channel: ChannelInfo


@dataclass(frozen=True)
class ChannelNoticeEvent:
    """A violation, restriction, cancellation or messaging change on a channel. `channel_id` is
    "" and `channel` None when the data does not say which channel (or not in a known way)."""

    type: str
    event_id: str | None
    channel_id: str
    channel: ChannelInfo | None
    data: Any = field(repr=False)


@dataclass(frozen=True)
class TemplateEvent:
    """A message template's status changed; its data's shape is not documented."""

    type: str
    event_id: str | None
    channel_id: str
    template_name: str
    status: str
    data: Any = field(repr=False)


@dataclass(frozen=True)
class UnknownEvent:
    type: str
    event_id: str | None
    data: Any = field(repr=False)


Event = ClientEvent | ChannelEvent | ChannelNoticeEvent | TemplateEvent | UnknownEvent


def load_payload(body: bytes) -> dict[str, Any]:
    """The JSON object of a webhook body: strict JSON (no NaN or Infinity, no number beyond a
    float's range) whose strings are valid Unicode without NUL characters, nested at most
    MAX_PAYLOAD_DEPTH levels, so that any store (PostgreSQL's jsonb among them) can hold it.
    Raises PayloadError, whose message never quotes the body."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise PayloadError(f"body is not valid JSON: {error}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"body must be a JSON object, got {type(payload).__name__}")
    _check_storable(payload)
    return payload


MAX_PAYLOAD_DEPTH = 64


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is beyond the range of a float")
    return value


def _check_storable(payload: dict[str, Any]) -> None:
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_PAYLOAD_DEPTH:
            raise PayloadError(f"body is nested deeper than {MAX_PAYLOAD_DEPTH} levels")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                pending.append((item, depth + 1))
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            _check_text(value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise PayloadError("a string holds a NUL character (\\u0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError("a string holds a lone surrogate (not valid Unicode)") from None


def event_type(payload: Mapping[str, Any]) -> str:
    name = payload.get("event")
    if not isinstance(name, str) or not name.strip():
        raise PayloadError("event is missing or not a string")
    return name.strip()


def event_id(payload: Mapping[str, Any]) -> str | None:
    """The delivery's own id, when 360Dialog sends one."""
    value = payload.get("id")
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"id must be a string, got {type(value).__name__}")
    value = str(value)
    if len(value) > MAX_EVENT_ID_LENGTH:
        raise PayloadError(f"id is longer than {MAX_EVENT_ID_LENGTH} characters")
    return value


def parse_event(payload: Mapping[str, Any]) -> Event:
    name = event_type(payload)
    identifier = event_id(payload)
    data = payload.get("data")
    if name in CLIENT_EVENTS:
        data = as_object(data, "data")
        if "client" in data:
            return ClientEvent(name, identifier, parse_client(data["client"], "data.client"))
        return ClientEvent(name, identifier, parse_client(data, "data"))  # data is the client
    if name in CHANNEL_EVENTS:
        return ChannelEvent(name, identifier, parse_channel(as_object(data, "data"), "data"))
    if name in NOTICE_EVENTS:
        return _notice(name, identifier, data)
    if name in TEMPLATE_EVENTS:
        fields = data if isinstance(data, Mapping) else {}
        return TemplateEvent(
            name,
            identifier,
            channel_id=_loose_id(fields.get("channel_id")),
            template_name=_loose_text(fields.get("name") or fields.get("template_name")),
            status=_loose_text(fields.get("status")),
            data=data,
        )
    return UnknownEvent(name, identifier, data)


def _notice(name: str, identifier: str | None, data: Any) -> ChannelNoticeEvent:
    channel: ChannelInfo | None = None
    channel_id = ""
    if isinstance(data, Mapping):
        try:
            channel = parse_channel(data, "data")
        except PayloadError:
            channel = None
        nested = data.get("channel")
        candidates = [
            data.get("channel_id"),
            data.get("id"),
            nested.get("id") if isinstance(nested, Mapping) else nested,
        ]
        channel_id = channel.id if channel else next(filter(None, map(_loose_id, candidates)), "")
    return ChannelNoticeEvent(name, identifier, channel_id, channel, data)


def _loose_id(value: object) -> str:
    return value if isinstance(value, str) and is_id(value) else ""


def _loose_text(value: object) -> str:
    return value if isinstance(value, str) else ""
