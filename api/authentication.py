"""`Authorization: Bearer <token>` with a partner's API token."""

from __future__ import annotations

from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from api.models import ApiToken
from api.services import TokenRefusedError, api_token_authenticate
from portal.client_ip import client_ip
from portal.models import Partner


@dataclass(frozen=True)
class TokenHolder:
    """`request.user` of an API request: the partner's platform, known by its token."""

    token: ApiToken

    is_authenticated = True
    is_staff = False
    is_superuser = False

    @property
    def partner(self) -> Partner:
        return self.token.partner

    def __str__(self) -> str:
        return f"API token {self.token.name}"


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[TokenHolder, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send one token: Authorization: Bearer <token>.")
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("The token is not valid.") from None
        try:
            token = api_token_authenticate(secret=secret, ip=client_ip(request) or None)
        except TokenRefusedError as error:
            raise AuthenticationFailed(str(error)) from None
        return TokenHolder(token), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'
