"""The Integrated Onboarding (IO) link: the hub's permission page with every parameter."""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Literal
from urllib.parse import quote, urlencode, urlsplit

from dialog360.ids import require_id, require_partner_id
from dialog360.signatures import IoSignature

Lang = Literal["en", "de", "pt"]
PlanSelection = Literal["regular", "premium", "basic"]
Next = Literal["login", "signup"]

LANGS: tuple[Lang, ...] = ("en", "de", "pt")
PLAN_SELECTIONS: tuple[PlanSelection, ...] = ("regular", "premium", "basic")
NEXTS: tuple[Next, ...] = ("login", "signup")

# The classic hub's path; a hub URL holding "{partner_id}" is used as it is (the newer client hub:
# https://app.360dialog.com/onboarding/{partner_id}).
PERMISSIONS_PATH = "/dashboard/app/{partner_id}/permissions"
_NUMBER_RE = re.compile(r"[1-9][0-9]{5,14}")


@dataclass(frozen=True, kw_only=True)
class IoLinkParams:
    """Every documented parameter; None leaves it out. Field order is the order in the URL."""

    email: str | None = None
    name: str | None = None
    number: str | None = None
    state: str | None = None
    redirect_url: str | None = None
    partner: str | None = None  # stored on the client as partner_payload
    next: Next | None = None
    lang: Lang | None = None
    plan_selection: PlanSelection | None = None
    connect_client_user: bool | None = None
    client_id: str | None = None
    signature: IoSignature | None = None  # io_signature + io_timestamp


def normalize_number(raw: str) -> str:
    """A phone number as 360Dialog wants it: country code first, digits only, no + or 00."""
    digits = re.sub(r"[\s\-().]", "", raw.replace("(0)", ""))  # +49 (0) 151: a trunk prefix
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    if not _NUMBER_RE.fullmatch(digits):
        raise ValueError(
            f"number must be a phone number with its country code (6-15 digits), got {raw!r}"
        )
    return digits


def io_permission_url(hub_url: str, partner_id: str) -> str:
    require_partner_id(partner_id)
    parts = urlsplit(hub_url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or "?" in hub_url
        or "#" in hub_url
    ):
        raise ValueError(
            f"hub URL must be an absolute http(s) URL without a query, got {hub_url!r}"
        )
    if "{partner_id}" in hub_url:
        return hub_url.replace("{partner_id}", partner_id)
    return hub_url.rstrip("/") + PERMISSIONS_PATH.format(partner_id=partner_id)


def io_link(hub_url: str, partner_id: str, params: IoLinkParams) -> str:
    """The URL to open in the popup. Parameters are validated, URL-encoded (every reserved
    character, so redirect_url travels intact) and always in the same order."""
    url = io_permission_url(hub_url, partner_id)
    query = urlencode(_pairs(params), quote_via=quote)
    return f"{url}?{query}" if query else url


def _pairs(params: IoLinkParams) -> list[tuple[str, str]]:
    _validate(params)
    pairs: list[tuple[str, str]] = []
    for field in fields(params):
        value = getattr(params, field.name)
        if value is None:
            continue
        if isinstance(value, IoSignature):
            pairs += [("io_signature", value.signature), ("io_timestamp", str(value.timestamp))]
        elif isinstance(value, bool):
            if value:
                pairs.append((field.name, "true"))
        elif field.name == "number":
            pairs.append((field.name, normalize_number(value)))
        else:
            pairs.append((field.name, value))
    return pairs


def _validate(params: IoLinkParams) -> None:
    choices: dict[str, tuple[str, ...]] = {
        "next": NEXTS,
        "lang": LANGS,
        "plan_selection": PLAN_SELECTIONS,
    }
    for name, allowed in choices.items():
        value = getattr(params, name)
        if value is not None and value not in allowed:
            raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    if params.redirect_url is not None:
        parts = urlsplit(params.redirect_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"redirect_url must be an absolute http(s) URL, got {params.redirect_url!r}"
            )
    if params.connect_client_user and params.client_id is None:
        raise ValueError("connect_client_user needs client_id")
    if params.client_id is not None:
        require_id(params.client_id, "client_id")
