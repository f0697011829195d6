"""What the API shows of each resource: public ids only (an onboarding's or invite's UUID,
360Dialog's ids for clients and channels), never a primary key, a token or a key's hash."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from channels.models import ApiKey, Channel
from clients.models import Client, Invite, Onboarding
from dialog360.io_link import normalize_number
from events.models import EVENT_TYPES
from outbound.http import RefusedURLError, url_check
from outbound.models import Endpoint


class OnboardingSerializer(serializers.ModelSerializer[Onboarding]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    client: serializers.SlugRelatedField[Client] = serializers.SlugRelatedField(
        slug_field="hub_client_id", read_only=True, allow_null=True
    )
    crm_reference = serializers.CharField(source="partner_payload", read_only=True)
    channels = serializers.SerializerMethodField()

    class Meta:
        model = Onboarding
        fields = [
            "id",
            "status",
            "verified",
            "email",
            "contact_name",
            "phone_number",
            "crm_reference",
            "lang",
            "client",
            "channels",
            "created_at",
            "updated_at",
            "opened_at",
            "returned_at",
            "completed_at",
            "expires_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_channels(self, onboarding: Onboarding) -> list[str]:
        """360Dialog ids of its channels."""
        return [channel.hub_channel_id for channel in onboarding.channels.all()]


class ClientSerializer(serializers.ModelSerializer[Client]):
    id = serializers.CharField(source="hub_client_id", read_only=True)
    crm_reference = serializers.CharField(source="partner_payload", read_only=True)
    channels = serializers.SerializerMethodField()

    class Meta:
        model = Client
        fields = [
            "id",
            "name",
            "email",
            "contact_name",
            "crm_reference",
            "hub_status",
            "channels",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_channels(self, client: Client) -> list[str]:
        return [channel.hub_channel_id for channel in client.channels.all()]


class ChannelSerializer(serializers.ModelSerializer[Channel]):
    id = serializers.CharField(source="hub_channel_id", read_only=True)
    client: serializers.SlugRelatedField[Client] = serializers.SlugRelatedField(
        slug_field="hub_client_id", read_only=True
    )
    onboarding: serializers.SlugRelatedField[Onboarding] = serializers.SlugRelatedField(
        slug_field="public_id", read_only=True, allow_null=True
    )
    api_key_ready = serializers.SerializerMethodField()

    class Meta:
        model = Channel
        fields = [
            "id",
            "client",
            "onboarding",
            "status",
            "permission",
            "phone_number",
            "phone_name",
            "waba_id",
            "account_mode",
            "has_violation",
            "is_restricted",
            "cancellation_requested",
            "cancelled_at",
            "status_changed_at",
            "permission_changed_at",
            "api_key_ready",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_api_key_ready(self, channel: Channel) -> bool:
        """Whether it has a current API key (GET /api/v1/channels/{id}/api-key)."""
        return any(key.revoked_at is None for key in channel.api_keys.all())


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    channel = serializers.CharField(source="channel.hub_channel_id", read_only=True)
    api_key = serializers.CharField(source="key", read_only=True)

    class Meta:
        model = ApiKey
        fields = ["channel", "api_key", "address", "app_id", "created_at", "fingerprint", "last4"]
        read_only_fields = fields


class InviteSerializer(serializers.ModelSerializer[Invite]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    crm_reference = serializers.CharField(
        source="partner_payload", required=False, allow_blank=True, max_length=200
    )
    state = serializers.SerializerMethodField()

    class Meta:
        model = Invite
        fields = [
            "id",
            "email",
            "contact_name",
            "phone_number",
            "crm_reference",
            "expires_at",
            "revoked_at",
            "state",
            "created_at",
        ]
        read_only_fields = ["id", "revoked_at", "state", "created_at"]
        extra_kwargs = {
            "email": {"required": False},
            "contact_name": {"required": False},
            "phone_number": {"required": False},
            "expires_at": {"required": False},
        }

    def get_state(self, invite: Invite) -> str:
        """open, expired or revoked."""
        if invite.revoked_at:
            return "revoked"
        return "expired" if invite.expires_at <= timezone.now() else "open"

    def validate_phone_number(self, value: str) -> str:
        if not value:
            return ""
        try:
            return normalize_number(value)
        except ValueError:
            raise serializers.ValidationError(
                "Enter the number with its country code, for example +49 151 12345678."
            ) from None

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Choose a time in the future.")
        return value


class InviteCreatedSerializer(InviteSerializer):
    link = serializers.CharField(read_only=True, help_text="The link to send; shown only now.")

    class Meta(InviteSerializer.Meta):
        fields = [*InviteSerializer.Meta.fields, "link"]


class ResyncSerializer(serializers.Serializer[Any]):
    status = serializers.CharField(help_text="Always `queued`.")
    check = serializers.CharField(help_text="What was queued.")
    resource = serializers.CharField(help_text="Where the result shows: GET this URL.")
    events = serializers.CharField(help_text="The events feed where changes will appear.")


class EndpointSerializer(serializers.ModelSerializer[Endpoint]):
    """An outbound endpoint; its signing secret is shown only when made or rotated."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    url = serializers.URLField(
        max_length=500, help_text="Where events are POSTed; https:// (outside development)."
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENT_TYPES)),
        required=False,
        max_length=len(EVENT_TYPES),
        help_text="The events it wants; empty or left out: every event.",
    )

    class Meta:
        model = Endpoint
        fields = [
            "id",
            "url",
            "event_types",
            "enabled",
            "failing_since",
            "disabled_reason",
            "created_at",
        ]
        read_only_fields = ["id", "enabled", "failing_since", "disabled_reason", "created_at"]

    def validate_url(self, value: str) -> str:
        try:
            url_check(value)
        except RefusedURLError as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        return sorted(set(value), key=EVENT_TYPES.index)


class EndpointSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The Standard Webhooks signing secret (whsec_…); shown only now.",
    )
    previous_secret_until = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="After a rotation: until when the old secret still signs too.",
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret", "previous_secret_until"]
        read_only_fields = [*EndpointSerializer.Meta.read_only_fields, "secret"]


class EndpointDisableSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(
        max_length=200, required=False, default="disabled through the API"
    )
