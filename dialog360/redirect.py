"""The redirect back from the hub: ``?client=<id>&channels=[id1,id2]&revoked=[id3]``.

Tolerant of what happens in transit (URL-encoding, once or twice; spaces; an empty list; a
trailing comma); strict about everything else, with an error that says what was wrong. The
parameters are unauthenticated: they only correlate to an onboarding, authority comes from
signed webhooks and the Partner API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote

from dialog360.ids import is_id

MAX_QUERY_LENGTH = 4096
MAX_IDS = 50
_PASSTHROUGH = ("state", "partner")


class RedirectError(ValueError):
    """The redirect's parameters are not what 360Dialog sends; the message says why."""


@dataclass(frozen=True)
class Redirect:
    client_id: str
    channel_ids: tuple[str, ...]
    revoked_ids: tuple[str, ...] = ()
    state: str | None = None  # echoed back by some hubs, not by others
    partner: str | None = None


def parse_redirect(query: str | Mapping[str, str | list[str]]) -> Redirect:
    """Parse the raw query string (or already-split parameters) of a return."""
    params = _params(query)
    client = _single(params, "client", required=True) or ""
    client_id = _clean(client)
    if not is_id(client_id):
        raise RedirectError(f"client must be a 360Dialog id (letters and digits), got {client!r}")
    channels = _single(params, "channels", required=True) or ""
    revoked = _single(params, "revoked", required=False)
    extras = {name: _single(params, name, required=False) for name in _PASSTHROUGH}
    return Redirect(
        client_id=client_id,
        channel_ids=parse_id_list(channels, "channels"),
        revoked_ids=parse_id_list(revoked, "revoked") if revoked is not None else (),
        state=extras["state"],
        partner=extras["partner"],
    )


def parse_id_list(raw: str, name: str = "list") -> tuple[str, ...]:
    """``[a,b]`` -> ("a", "b"); duplicates are dropped, order kept."""
    value = _clean(raw)
    if not (value.startswith("[") and value.endswith("]")):
        raise RedirectError(f"{name} must be a bracketed list like [id1,id2], got {raw!r}")
    inner = value[1:-1].strip()
    if not inner:
        return ()
    items = [item.strip() for item in inner.split(",")]
    if items[-1] == "":  # one trailing comma
        items.pop()
    ids: list[str] = []
    for item in items:
        if not item:
            raise RedirectError(f"{name} has an empty entry: {raw!r}")
        if not is_id(item):
            raise RedirectError(
                f"{name} must hold 360Dialog ids (letters and digits), got {item!r} in {raw!r}"
            )
        if item not in ids:
            ids.append(item)
    if len(ids) > MAX_IDS:
        raise RedirectError(f"{name} has more than {MAX_IDS} ids")
    return tuple(ids)


Style = Literal["encoded", "literal", "spaced"]


def format_redirect_query(
    client_id: str,
    channel_ids: Iterable[str],
    revoked_ids: Iterable[str] | None = None,
    *,
    state: str | None = None,
    style: Style = "encoded",
) -> str:
    """The query 360Dialog appends to the redirect URL (the hub simulator sends it). `style`
    picks how the lists travel: percent-encoded (as browsers send them), literal brackets and
    commas, or with a space after each comma."""
    pairs = [("client", client_id), ("channels", _format_list(channel_ids, style))]
    if revoked_ids is not None:
        pairs.append(("revoked", _format_list(revoked_ids, style)))
    if state is not None:
        pairs.append(("state", state))
    safe = "[]," if style == "literal" else ""
    return "&".join(f"{name}={quote(value, safe=safe)}" for name, value in pairs)


def _format_list(ids: Iterable[str], style: Style) -> str:
    separator = ", " if style == "spaced" else ","
    return "[" + separator.join(ids) + "]"


def _params(query: str | Mapping[str, str | list[str]]) -> dict[str, list[str]]:
    if isinstance(query, str):
        if len(query) > MAX_QUERY_LENGTH:
            raise RedirectError(f"the query is longer than {MAX_QUERY_LENGTH} characters")
        params: dict[str, list[str]] = {}
        try:
            pairs = parse_qsl(query.lstrip("?"), keep_blank_values=True, strict_parsing=False)
        except ValueError as error:
            raise RedirectError(f"the query cannot be parsed: {error}") from None
        for name, value in pairs:
            params.setdefault(name, []).append(value)
        return params
    return {
        name: [value] if isinstance(value, str) else list(value) for name, value in query.items()
    }


def _single(params: dict[str, list[str]], name: str, *, required: bool) -> str | None:
    values = params.get(name)
    if not values:
        if required:
            raise RedirectError(f"{name} is missing")
        return None
    if len(values) > 1:
        raise RedirectError(f"{name} is given {len(values)} times")
    return values[0]


def _clean(value: str) -> str:
    """Undo a second round of URL-encoding, then trim spaces."""
    value = value.strip()
    if "%" in value:
        value = unquote(value).strip()
    return value
