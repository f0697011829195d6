"""What a token may do: its scopes."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from api.models import ApiToken


class HasScope(BasePermission):
    """The view names the scope each action needs (`required_scopes`, by action, default
    `read`); a token without it gets 403."""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            return False
        needed = scope_needed(view)
        self.message = f"This token lacks the {needed!r} scope."
        return needed in token.scopes


def scope_needed(view: Any) -> str:
    scopes: dict[str, str] = getattr(view, "required_scopes", {})
    action = getattr(view, "action", None) or (view.request.method or "").lower()
    return str(scopes.get(action, ApiToken.Scope.READ))
