"""What the client's pages may report about themselves (the page-event beacon): the signup page
was viewed, the popup was blocked or closed before the return. Each page carries a token signed
with SECRET_KEY naming its partner, its onboarding (if any) and a random page id; the beacon
(console.beacon) takes events only with such a token, so no other site can post them without
loading our page first, and one page's event counts once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

from django.core import signing

SALT = "clients.page-events"
# A page open longer than this reports nothing more.
MAX_AGE_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Page:
    partner_id: int
    onboarding: UUID | None
    page_id: str


def page_events_token(*, partner_id: int, onboarding: UUID | None = None) -> str:
    """A fresh token for one rendering of a page."""
    return signing.TimestampSigner(salt=SALT).sign_object(
        {"p": partner_id, "o": str(onboarding) if onboarding else "", "n": secrets.token_hex(8)}
    )


def page_events_token_read(token: str) -> Page | None:
    """The page a token names, or None when it is not ours, altered or too old."""
    if not token or len(token) > 300:
        return None
    try:
        value = signing.TimestampSigner(salt=SALT).unsign_object(token, max_age=MAX_AGE_SECONDS)
        return Page(
            partner_id=int(value["p"]),
            onboarding=UUID(value["o"]) if value["o"] else None,
            page_id=str(value["n"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
