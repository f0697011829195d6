"""The partner's colours as the client pages' custom properties, chosen for contrast."""

from __future__ import annotations

import re

from django import template
from django.utils.safestring import SafeString, mark_safe

from portal.contrast import brand_css
from portal.models import Partner

register = template.Library()
HEX = re.compile(r"#[0-9a-fA-F]{6}")


@register.simple_tag
def brand_style(partner: Partner) -> SafeString:
    """`:root { --primary: ...; --on-primary: black or white; ... }`. Only `#rrggbb` values
    reach the stylesheet (the model validates them; anything else falls back)."""
    primary = partner.primary_colour if HEX.fullmatch(partner.primary_colour) else "#128c7e"
    accent = partner.accent_colour if HEX.fullmatch(partner.accent_colour) else "#25d366"
    return mark_safe(brand_css(primary=primary, accent=accent))  # noqa: S308 - hex values only
