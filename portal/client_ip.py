"""The address a request came from, for login throttling and rate limits."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR; behind TRUSTED_PROXY_COUNT proxies that each append the address they saw to
    X-Forwarded-For, the address the outermost trusted one saw (entries further left are the
    client's own say and are ignored)."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    count: int = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        return remote
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote
