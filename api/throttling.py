"""Per-token request limits, counted in the cache (Redis in production)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Every request of a token (REST_FRAMEWORK's `token` rate)."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.pk}


class ApiKeyReadThrottle(TokenRateThrottle):
    """Reads of channels' API keys, per token (the `api_key` rate)."""

    scope = "api_key"
