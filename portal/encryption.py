"""Authenticated encryption of secrets stored in the database, with key rotation.

Values are Fernet tokens (AES-128-CBC with an HMAC-SHA256 over the whole token), so a changed
ciphertext is detected, not decrypted into garbage. `FIELD_ENCRYPTION_KEYS` lists the keys newest
first: the first encrypts, every key decrypts. To rotate, put a new key first, deploy, run
`manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models
from django.db.models.lookups import Exact
from django.dispatch import receiver


class DecryptionError(Exception):
    """A stored value cannot be decrypted with any configured key (or was tampered with)."""


@cache
def _keyring() -> MultiFernet:
    keys = [key.strip() for key in settings.FIELD_ENCRYPTION_KEYS if key.strip()]
    if not keys:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS is empty: set it (.env.example shows how to make a key)."
        )
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must hold url-safe base64 Fernet keys of 32 bytes, "
            "comma-separated, newest first."
        ) from exc


@receiver(setting_changed)
def _forget_keyring(*, setting: str, **kwargs: Any) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _keyring.cache_clear()


def encrypt(plaintext: str) -> str:
    return _keyring().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _keyring().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."
        ) from exc


class EncryptedTextField(models.TextField):  # type: ignore[type-arg]
    """A text column holding a secret, encrypted at rest.

    The empty string is stored as is, so "not set" stays queryable; anything else is stored as a
    Fernet token. Tokens are randomised, so the column cannot be searched or made unique: the
    only lookups are `isnull` and an exact match with "".
    """

    description = "Text encrypted at rest"

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in ("exact", "isnull"):
            return None  # Django then reports an unsupported lookup
        return super().get_lookup(lookup_name)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def encrypted_fields() -> Iterator[tuple[type[models.Model], list[str]]]:
    """Every installed model that has encrypted columns, with their names."""
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            yield model, names


@EncryptedTextField.register_lookup
class _ExactEmpty(Exact):  # type: ignore[type-arg]
    """`field=""` finds unset secrets; comparing with a secret could never match, so it is an
    error rather than a silent empty result."""

    def get_prep_lookup(self) -> Any:
        if self.rhs != "":
            raise ValueError("Encrypted fields cannot be searched; only an exact '' (unset) works.")
        return super().get_prep_lookup()
