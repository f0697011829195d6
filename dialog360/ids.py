"""360Dialog identifiers: short alphanumeric strings (partner ids also end in "PA")."""

from __future__ import annotations

import re

ID_RE = re.compile(r"[A-Za-z0-9]{1,64}")
PARTNER_ID_RE = re.compile(r"[A-Za-z0-9]+PA")
# API key ids are numbers in every known answer; allow the characters of other id formats.
KEY_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_id(value: str) -> bool:
    return ID_RE.fullmatch(value) is not None


def require_id(value: str, what: str) -> str:
    """`value` if it is a well-formed id; otherwise ValueError naming `what`. Ids go into URL
    paths, so anything else (a slash, a dot, a percent sign) must never get that far."""
    if not isinstance(value, str) or not is_id(value):
        raise ValueError(f"{what} must be 1-64 letters or digits, got {value!r}")
    return value


def require_partner_id(value: str) -> str:
    if not isinstance(value, str) or PARTNER_ID_RE.fullmatch(value) is None:
        raise ValueError(f"partner id must be letters and digits ending in PA, got {value!r}")
    return value


def require_key_id(value: object, what: str = "key id") -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or KEY_ID_RE.fullmatch(value) is None:
        raise ValueError(f"{what} must be 1-64 letters, digits, - or _, got {value!r}")
    return value
