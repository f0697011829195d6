from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from channels.tests.factories import ApiKeyFactory
from portal.encryption import DecryptionError, decrypt, encrypt
from portal.models import Partner
from portal.tests.factories import PartnerFactory

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def raw_column(table: str, column: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_secrets_are_not_stored_in_plain_text():
    partner = PartnerFactory.create(
        api_key="pk_live_partner_key_123", platform_secret="platform-s3cret"
    )
    api_key = ApiKeyFactory.create(key="channel-key-abcdef", channel__client__partner=partner)

    stored = [
        raw_column("portal_partner", "api_key", partner.pk),
        raw_column("portal_partner", "platform_secret", partner.pk),
        raw_column("channels_apikey", "key", api_key.pk),
    ]

    for plaintext, value in zip(
        ["pk_live_partner_key_123", "platform-s3cret", "channel-key-abcdef"], stored, strict=True
    ):
        assert plaintext not in value
        assert decrypt(value) == plaintext
    reloaded = Partner.objects.get(pk=partner.pk)
    assert reloaded.api_key == "pk_live_partner_key_123"
    assert reloaded.platform_secret == "platform-s3cret"


@pytest.mark.django_db
def test_an_empty_secret_stays_empty_so_not_set_is_queryable():
    partner = PartnerFactory.create(platform_secret="")

    assert raw_column("portal_partner", "platform_secret", partner.pk) == ""
    assert Partner.objects.filter(platform_secret="").get() == partner


def test_the_same_value_encrypts_differently_each_time():
    assert encrypt("same") != encrypt("same")


def test_a_tampered_value_is_refused():
    token = encrypt("secret")
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]

    with pytest.raises(DecryptionError):
        decrypt(tampered)


def test_a_value_under_an_unknown_key_is_refused():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        token = encrypt("secret")

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]), pytest.raises(DecryptionError):
        decrypt(token)


@pytest.mark.parametrize("keys", [[], ["not-a-fernet-key"]])
def test_missing_or_malformed_keys_are_a_configuration_error(keys):
    with override_settings(FIELD_ENCRYPTION_KEYS=keys), pytest.raises(ImproperlyConfigured):
        encrypt("secret")


@pytest.mark.django_db
def test_rotation_new_key_first_then_reencrypt_then_drop_the_old_key():
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]):
        partner = PartnerFactory.create(api_key="rotate-me-please", platform_secret="and-me-too")
        before = raw_column("portal_partner", "api_key", partner.pk)

    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY, OLD_KEY]):
        # Both keys decrypt: the old rows still read while the new key is being rolled out.
        assert Partner.objects.get(pk=partner.pk).api_key == "rotate-me-please"
        call_command("rotate_encryption_keys", verbosity=0)
    after = raw_column("portal_partner", "api_key", partner.pk)

    assert after != before
    with override_settings(FIELD_ENCRYPTION_KEYS=[NEW_KEY]):
        reloaded = Partner.objects.get(pk=partner.pk)
        assert (reloaded.api_key, reloaded.platform_secret) == ("rotate-me-please", "and-me-too")
    with override_settings(FIELD_ENCRYPTION_KEYS=[OLD_KEY]), pytest.raises(DecryptionError):
        Partner.objects.get(pk=partner.pk)


@pytest.mark.django_db
def test_an_encrypted_column_cannot_be_searched_except_for_not_set():
    PartnerFactory.create(api_key="findable?", platform_secret="")

    assert Partner.objects.filter(platform_secret="").count() == 1
    assert Partner.objects.filter(api_key__isnull=False).count() == 1
    with pytest.raises(ValueError, match="cannot be searched"):
        Partner.objects.filter(api_key="findable?").count()
    with pytest.raises(FieldError, match="Unsupported lookup 'icontains'"):
        Partner.objects.filter(api_key__icontains="find").count()
