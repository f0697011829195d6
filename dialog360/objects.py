"""360Dialog's client and channel objects, as webhooks and the Partner API carry them.

Parsing is lenient about what is optional or unknown (360Dialog adds fields) and strict about
what the portal relies on: a missing or malformed id is an error, never a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dialog360.ids import is_id


class PayloadError(ValueError):
    """A 360Dialog payload is not the shape we know; the message says where."""


@dataclass(frozen=True)
class ClientInfo:
    id: str
    name: str = ""
    status: str = ""
    partner_payload: str = ""
    email: str = ""
    full_name: str = ""
    language: str = ""
    country: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ChannelInfo:
    id: str
    client_id: str = ""
    status: str = ""  # an open set: created, submitted, ready, running, live, ...
    account_mode: str = ""
    created_at: datetime | None = None
    billing_started_at: datetime | None = None
    terminated_at: datetime | None = None
    phone_number: str = ""
    phone_name: str = ""
    waba_id: str = ""
    waba_status: str = ""
    client_name: str = ""
    client_email: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_client(data: object, where: str = "client") -> ClientInfo:
    obj = as_object(data, where)
    contact = as_object(obj.get("contact_info") or {}, f"{where}.contact_info")
    return ClientInfo(
        id=_id(obj.get("id"), f"{where}.id"),
        name=as_text(obj.get("name"), f"{where}.name"),
        status=as_text(obj.get("status"), f"{where}.status"),
        partner_payload=as_text(obj.get("partner_payload"), f"{where}.partner_payload"),
        email=as_text(contact.get("email"), f"{where}.contact_info.email"),
        full_name=as_text(contact.get("full_name"), f"{where}.contact_info.full_name"),
        language=as_text(contact.get("language"), f"{where}.contact_info.language"),
        country=as_text(contact.get("country"), f"{where}.contact_info.country"),
        raw=obj,
    )


def parse_channel(data: object, where: str = "channel") -> ChannelInfo:
    obj = as_object(data, where)
    setup = as_object(obj.get("setup_info") or {}, f"{where}.setup_info")
    waba = as_object(obj.get("waba_account") or {}, f"{where}.waba_account")
    client = as_object(obj.get("client") or {}, f"{where}.client")
    contact = as_object(client.get("contact_info") or {}, f"{where}.client.contact_info")
    client_id = obj.get("client_id") or client.get("id")
    return ChannelInfo(
        id=_id(obj.get("id"), f"{where}.id"),
        client_id=_id(client_id, f"{where}.client_id") if client_id is not None else "",
        status=as_text(obj.get("status"), f"{where}.status"),
        account_mode=as_text(obj.get("account_mode"), f"{where}.account_mode"),
        created_at=_time(obj.get("created_at"), f"{where}.created_at"),
        billing_started_at=_time(obj.get("billing_started_at"), f"{where}.billing_started_at"),
        terminated_at=_time(obj.get("terminated_at"), f"{where}.terminated_at"),
        phone_number=phone_digits(
            as_text(setup.get("phone_number"), f"{where}.setup_info.phone_number")
        ),
        phone_name=as_text(setup.get("phone_name"), f"{where}.setup_info.phone_name"),
        waba_id=as_text(waba.get("id"), f"{where}.waba_account.id"),
        waba_status=as_text(
            waba.get("fb_account_status"), f"{where}.waba_account.fb_account_status"
        ),
        client_name=as_text(client.get("name"), f"{where}.client.name"),
        client_email=as_text(contact.get("email"), f"{where}.client.contact_info.email"),
        raw=obj,
    )


def phone_digits(number: str) -> str:
    """A phone number as the digits of its international form ("+49 151-123" -> "49151123"):
    spaces, punctuation and anything else a sender added are dropped where it arrives."""
    return "".join(char for char in number if char.isascii() and char.isdigit())


def as_object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PayloadError(f"{where} must be an object, got {type(value).__name__}")
    return value


def _id(value: object, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not is_id(value):
        raise PayloadError(f"{where} must be a 360Dialog id (letters and digits), got {value!r}")
    return value


def as_text(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where} must be a string, got {type(value).__name__}")
    return str(value)


def _time(value: object, where: str) -> datetime | None:
    """An ISO 8601 time (one without a zone is taken as UTC) or unix seconds. Times are only
    shown, never relied on: one we cannot read is None, the raw object keeps it."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None
