"""Values from outside (360Dialog's webhooks and Partner API) fitted to the columns they go in.

360Dialog documents no lengths; a business name of 250 characters must not make every event
of a client fail (PostgreSQL refuses a value longer than its column). Text is cut to the
column's length, control characters are removed (a NUL is refused by PostgreSQL, a newline in a
phone number breaks mail headers), and an e-mail address that does not fit is dropped rather
than cut into another address.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.db import models

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def without_control_characters(text: str) -> str:
    """`text` with control characters (newlines included) replaced by spaces, trimmed."""
    return _CONTROL.sub(" ", text).strip()


def fit(model: type[models.Model], field_name: str, value: str) -> str:
    """`value` as it may be stored in `model.field_name`."""
    field = model._meta.get_field(field_name)
    text = without_control_characters(value)
    limit = getattr(field, "max_length", None)
    if limit is None or len(text) <= limit:
        return text
    if isinstance(field, models.EmailField):
        return ""  # a cut address would be someone else's
    return text[:limit]


def fitted(model: type[models.Model], values: Mapping[str, Any]) -> dict[str, Any]:
    """`values` with every string fitted to its column; other values unchanged."""
    return {
        name: fit(model, name, value) if isinstance(value, str) else value
        for name, value in values.items()
    }
