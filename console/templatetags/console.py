"""Formatting for the console's pages."""

from __future__ import annotations

from django import template

from channels.models import ApiKey
from console.selectors import key_masked

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


@register.filter
def duration_short(seconds: float | None) -> str:
    """12 s, 4 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "—"
    seconds = max(seconds, 0.0)  # clocks of two machines (ours, 360Dialog's) may disagree
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@register.filter
def masked(key: ApiKey) -> str:
    return key_masked(key)
