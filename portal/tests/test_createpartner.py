from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from portal.models import Partner
from portal.selectors import partner_for_webhook_token

ARGS = [
    "--slug", "acme",
    "--name", "Acme Telecom",
    "--hub-partner-id", "aAbBcCPA",
    "--payment-mode", "direct",
]  # fmt: skip


def createpartner(*args: str) -> list[str]:
    out = StringIO()
    call_command("createpartner", *args, "--no-input", stdout=out)
    return out.getvalue().splitlines()


@pytest.mark.django_db
def test_creates_a_partner_with_secrets_from_the_environment_and_prints_its_webhook_url(
    monkeypatch,
):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk-from-env-123")
    monkeypatch.setenv("DIALOG360_PLATFORM_SECRET", "secret-from-env-456")

    lines = createpartner(*ARGS, "--hub-url", "http://127.0.0.1:8360", "--io-signature")

    partner = Partner.objects.get(slug="acme")
    assert (partner.name, partner.hub_partner_id, partner.payment_mode) == (
        "Acme Telecom",
        "aAbBcCPA",
        "direct",
    )
    assert partner.hub_url == "http://127.0.0.1:8360"
    assert (partner.api_key, partner.platform_secret) == ("pk-from-env-123", "secret-from-env-456")
    assert partner.io_signature_enabled
    assert lines[0] == (
        "Created partner 'acme' (Acme Telecom), Direct Payment, 360Dialog partner id aAbBcCPA."
    )
    assert lines[-2] == (
        "Webhook URL (enter it in the 360Dialog Partner Hub; it is not shown again):"
    )
    token = lines[-1].removeprefix("https://portal.test/webhooks/360dialog/").rstrip("/")
    assert lines[-1] == f"https://portal.test/webhooks/360dialog/{token}/"
    # Only the token's hash is stored, and the URL leads to this partner.
    assert partner.webhook_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert partner_for_webhook_token(token) == partner
    output = "\n".join(lines)
    assert "pk-from-env-123" not in output
    assert "secret-from-env-456" not in output


@pytest.mark.django_db
def test_running_it_again_updates_and_keeps_secrets_and_switches_not_given(monkeypatch):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk-first")
    monkeypatch.setenv("DIALOG360_PLATFORM_SECRET", "secret-first")
    url = createpartner(*ARGS, "--io-signature")[-1]
    token = url.rstrip("/").rsplit("/", 1)[1]
    monkeypatch.delenv("DIALOG360_API_KEY")
    monkeypatch.delenv("DIALOG360_PLATFORM_SECRET")

    lines = createpartner(*ARGS[:3], "Acme Renamed", *ARGS[4:])

    partner = Partner.objects.get(slug="acme")
    assert lines[0].startswith("Updated partner 'acme' (Acme Renamed)")
    assert (partner.api_key, partner.platform_secret) == ("pk-first", "secret-first")
    assert partner.io_signature_enabled is True
    assert lines[-1] == (
        "Webhook URL: unchanged (shown only when made; --rotate-webhook-token makes a new one)."
    )
    assert partner_for_webhook_token(token) == partner
    assert Partner.objects.count() == 1


@pytest.mark.django_db
def test_rotating_the_webhook_token_prints_a_new_url_and_ends_the_old_one(monkeypatch):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk-first")
    old = createpartner(*ARGS)[-1].rstrip("/").rsplit("/", 1)[1]

    lines = createpartner(*ARGS, "--rotate-webhook-token")

    new = lines[-1].rstrip("/").rsplit("/", 1)[1]
    assert new != old
    assert partner_for_webhook_token(old) is None
    assert partner_for_webhook_token(new) == Partner.objects.get(slug="acme")


@pytest.mark.django_db
def test_a_new_partner_without_an_api_key_is_refused(monkeypatch):
    monkeypatch.delenv("DIALOG360_API_KEY", raising=False)

    with pytest.raises(CommandError, match="set DIALOG360_API_KEY"):
        createpartner(*ARGS)

    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_signing_without_a_platform_secret_is_refused(monkeypatch):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk")
    monkeypatch.delenv("DIALOG360_PLATFORM_SECRET", raising=False)

    with pytest.raises(
        CommandError, match=r"need the platform secret\. Set DIALOG360_PLATFORM_SECRET\."
    ):
        createpartner(*ARGS, "--io-signature")

    assert not Partner.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--hub-partner-id", "bad id!", "--hub-partner-id: Letters and digits ending in PA"),
        ("--hub-partner-id", "abcpa", "--hub-partner-id: Letters and digits ending in PA"),
        ("--hub-url", "not a url", "--hub-url: Enter a valid URL."),
        ("--api-base-url", "http://api.example/v2", "--api-base-url: Use https://"),
    ],
)
def test_invalid_values_are_refused_with_the_field_named(monkeypatch, option, value, message):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk")
    args = [*ARGS, option, value]

    with pytest.raises(CommandError) as excinfo:
        createpartner(*args)

    assert message in str(excinfo.value)
    assert not Partner.objects.exists()


def test_secrets_cannot_be_given_on_the_command_line():
    with pytest.raises(CommandError, match="unrecognized arguments: --api-key"):
        call_command("createpartner", *ARGS, "--api-key", "leaks-into-ps-output")


@pytest.mark.django_db
def test_in_a_terminal_it_asks_for_secrets_with_hidden_input(monkeypatch):
    monkeypatch.delenv("DIALOG360_API_KEY", raising=False)
    monkeypatch.delenv("DIALOG360_PLATFORM_SECRET", raising=False)
    answers = iter(["typed-api-key", "typed-secret"])
    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", getpass)

    out = StringIO()
    call_command("createpartner", *ARGS, stdout=out)

    partner = Partner.objects.get(slug="acme")
    assert (partner.api_key, partner.platform_secret) == ("typed-api-key", "typed-secret")
    assert prompts == [
        "Partner API key (input hidden; required): ",
        "Platform secret (input hidden; Enter to leave it unset): ",
    ]
    assert "typed-" not in out.getvalue()


@pytest.mark.django_db
def test_a_changed_partner_id_is_pointed_out(monkeypatch):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk")
    createpartner(*ARGS)

    lines = createpartner(*ARGS[:5], "newIdPA", *ARGS[6:])

    assert lines[1] == "Note: its 360Dialog partner id was aAbBcCPA until now."
    assert Partner.objects.get(slug="acme").hub_partner_id == "newIdPA"


@pytest.mark.django_db
def test_plain_http_is_accepted_only_for_a_simulator_on_this_machine(monkeypatch):
    monkeypatch.setenv("DIALOG360_API_KEY", "pk")

    createpartner(
        *ARGS,
        "--hub-url",
        "http://127.0.0.1:8360",
        "--api-base-url",
        "http://localhost:8360/api/v2",
    )

    partner = Partner.objects.get(slug="acme")
    assert (partner.hub_url, partner.api_base_url) == (
        "http://127.0.0.1:8360",
        "http://localhost:8360/api/v2",
    )
