from __future__ import annotations

from typing import Any

import factory

from api.models import ApiToken
from api.services import api_token_prepare, api_token_secret_new
from portal.tests.factories import PartnerFactory


class ApiTokenFactory(factory.django.DjangoModelFactory[ApiToken]):
    """A token; `token.secret` holds what the client sends (the database keeps its hash)."""

    class Meta:
        model = ApiToken

    partner = factory.SubFactory(PartnerFactory)
    name = factory.Sequence(lambda n: f"token {n}")
    scopes = factory.LazyFunction(lambda: ["read", "invites", "keys", "endpoints"])

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args: Any, **kwargs: Any) -> ApiToken:
        secret = api_token_secret_new()
        token = model_class(**kwargs)
        api_token_prepare(token, secret)
        token.save()
        token.__dict__["secret"] = secret
        return token


def bearer(token: ApiToken) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token.__dict__['secret']}"}
