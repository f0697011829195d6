"""{% page_events partner onboarding %}: the attributes that let a page report its events
(clients.page_events, static/portal/page-events.js)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from clients.page_events import page_events_token

register = template.Library()


@register.simple_tag
def page_events(partner: Any, onboarding: Any = None) -> SafeString:
    token = page_events_token(
        partner_id=partner.pk, onboarding=onboarding.public_id if onboarding else None
    )
    return format_html(
        'data-page-events="{}" data-page-events-token="{}"', reverse("page_event"), token
    )
