"""Bearer tokens in URLs (webhook paths, invite links): random, stored only as a SHA-256, and
refused before any query when they do not look like one of ours."""

from __future__ import annotations

import hashlib
import re
import secrets

# token_urlsafe's alphabet; ours are 32 to 43 characters long.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")


def token_new(*, nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(token: str) -> str:
    """What the database keeps: a SHA-256, in hex. The tokens are random, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_shaped(value: str | None) -> bool:
    """Could `value` be one of our tokens? Anything else (NUL bytes, slashes, a novel) is
    refused without touching the database."""
    return value is not None and _TOKEN_SHAPE.fullmatch(value) is not None


def unusable_token_hash() -> str:
    """The hash of a token nobody ever saw: a row that needs one but has none to hand out."""
    return token_hash(token_new())
