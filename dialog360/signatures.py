"""The two signatures of the protocol, both keyed with the partner's platform secret.

- IO signature: HMAC-SHA512 over ``{partner_id}|{unix_seconds}``, sent with the IO link.
- Webhook signature: HMAC-SHA256 over the raw body, in the ``x-360dialog-signature`` header.

The output encodings are not documented: the IO signature's is a per-partner setting (lowercase
hex by default, or base64); a webhook signature is accepted as hex in either case, with or
without a ``sha256=`` prefix.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from dialog360.ids import require_partner_id

IoSignatureEncoding = Literal["hex", "base64"]
IO_SIGNATURE_ENCODINGS: tuple[IoSignatureEncoding, ...] = ("hex", "base64")
WEBHOOK_SIGNATURE_HEADER = "x-360dialog-signature"
_SHA256_PREFIX = "sha256="
MAX_TIMESTAMP_DIGITS = 20


@dataclass(frozen=True)
class IoSignature:
    signature: str
    timestamp: int


def io_signature(
    partner_id: str, secret: str, timestamp: int, encoding: IoSignatureEncoding = "hex"
) -> str:
    """The IO signature of `partner_id` at `timestamp` (unix seconds)."""
    require_partner_id(partner_id)
    if not secret:
        raise ValueError("an IO signature needs the platform secret")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError(f"io_timestamp must be a non-negative whole number, got {timestamp!r}")
    digest = hmac.new(
        secret.encode(), f"{partner_id}|{timestamp}".encode(), hashlib.sha512
    ).digest()
    if encoding == "hex":
        return digest.hex()
    if encoding == "base64":
        return base64.b64encode(digest).decode("ascii")
    raise ValueError(f"unknown IO signature encoding {encoding!r}; use one of hex, base64")


def io_signature_mint(
    partner_id: str, secret: str, now: float, encoding: IoSignatureEncoding = "hex"
) -> IoSignature:
    """A fresh signature for one launch; `now` is the current unix time."""
    timestamp = int(now)
    return IoSignature(io_signature(partner_id, secret, timestamp, encoding), timestamp)


def io_signature_matches(
    partner_id: str,
    secret: str,
    signature: str,
    timestamp: str,
    encoding: IoSignatureEncoding = "hex",
) -> bool:
    """Whether `signature` signs `partner_id` at `timestamp` (both as received in a query)."""
    if len(timestamp) > MAX_TIMESTAMP_DIGITS or not timestamp.isascii() or not timestamp.isdigit():
        return False
    expected = io_signature(partner_id, secret, int(timestamp), encoding)
    return _same(signature, expected)


def webhook_signature(body: bytes, secret: str) -> str:
    """Lowercase hex HMAC-SHA256 of the raw body."""
    if not secret:
        raise ValueError("a webhook signature needs the platform secret")
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_webhook(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """Whether `header` is the signature of `body` under any of `secrets` (several during a
    rotation). Accepts hex in either case, with or without a ``sha256=`` prefix; anything else,
    including a missing header or no secrets at all, is not a valid signature."""
    if isinstance(secrets, str | bytes):
        raise TypeError("secrets must be a collection of secrets, not one string")
    if not header:
        return False
    value = header.strip()
    if value[: len(_SHA256_PREFIX)].lower() == _SHA256_PREFIX:
        value = value[len(_SHA256_PREFIX) :].strip()
    try:
        received = binascii.unhexlify(value) if value.isascii() else b""
    except (binascii.Error, ValueError):
        return False
    if len(received) != hashlib.sha256().digest_size:
        return False
    matched = False
    for secret in secrets:
        if not secret:
            continue
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # No early exit: the time taken does not tell which secret matched.
        matched |= hmac.compare_digest(received, expected)
    return matched


def _same(received: str, expected: str) -> bool:
    if not received.isascii():
        return False
    return hmac.compare_digest(received.encode("ascii"), expected.encode("ascii"))
