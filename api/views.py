"""The partner API's endpoints: thin views over the selectors and services. Each request runs
in the scope of its token's partner, so another partner's rows do not exist for it (404)."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from api.authentication import ApiTokenAuthentication
from api.filters import ChannelFilter, ClientFilter, InviteFilter, OnboardingFilter
from api.models import ApiToken
from api.pagination import ApiCursorPagination
from api.permissions import HasScope
from api.problems import PROBLEM_CONTENT_TYPE, Problem
from api.schema import OnePageSchema
from api.serializers import (
    ApiKeySerializer,
    ChannelSerializer,
    ClientSerializer,
    EndpointDisableSerializer,
    EndpointSecretSerializer,
    EndpointSerializer,
    InviteCreatedSerializer,
    InviteSerializer,
    OnboardingSerializer,
    ResyncSerializer,
)
from api.services import (
    ChannelNotFoundError,
    KeyReadRefusedError,
    Resync,
    channel_api_key_read,
    channel_resync,
    event_feed,
    feed_cursor_decode,
    feed_cursor_encode,
    invite_create,
    invite_revoke,
    onboarding_resync,
    parse_public_id,
)
from api.throttling import ApiKeyReadThrottle, TokenRateThrottle
from channels.models import ApiKey, Channel
from clients.models import Client, Invite, Onboarding
from events.models import DomainEvent
from events.services import event_document
from outbound.models import Endpoint
from outbound.services import endpoint_create, endpoint_disable, endpoint_secret_rotate
from portal.client_ip import client_ip
from portal.models import Partner
from portal.tenancy import partner_scope


class ProblemSerializer(serializers.Serializer[Any]):
    """An RFC 9457 problem document."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    instance = serializers.CharField()
    code = serializers.CharField(help_text="A stable word to branch on, e.g. not_found.")
    errors = serializers.DictField(required=False, help_text="Invalid input, by field.")  # type: ignore[assignment]
    retry_after = serializers.IntegerField(required=False, help_text="Seconds, on 429.")


def problems(*statuses: int) -> dict[Any, Any]:
    """Schema responses: problem documents for these statuses (401 and 429 always)."""
    described = {
        400: "Invalid parameters or body.",
        401: "No token, or a token that is unknown, revoked or expired.",
        403: "The token lacks the scope, or the partner has this switched off.",
        404: "Nothing of this partner has this id.",
        429: "Too many requests for this token; Retry-After says when to try again.",
    }
    return {
        (code, PROBLEM_CONTENT_TYPE): OpenApiResponse(ProblemSerializer, described[code])
        for code in sorted({401, 429, *statuses})
    }


class PartnerApiView(viewsets.GenericViewSet):  # type: ignore[type-arg]
    """Authenticated by a partner's token, scope-checked, throttled per token, and run in the
    partner's tenant scope."""

    authentication_classes = [ApiTokenAuthentication]
    permission_classes = [IsAuthenticated, HasScope]
    throttle_classes = [TokenRateThrottle]
    pagination_class = ApiCursorPagination
    filter_backends = [DjangoFilterBackend, OrderingFilter]
    ordering_fields = ["created_at", "updated_at"]
    required_scopes: dict[str, str] = {}
    lookup_url_kwarg = "id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        self._tenant: ExitStack[bool | None] | None = ExitStack()
        self._tenant.enter_context(partner_scope(self.partner))

    def finalize_response(
        self, request: Request, response: Any, *args: Any, **kwargs: Any
    ) -> Response:
        tenant = getattr(self, "_tenant", None)
        if tenant is not None:
            tenant.close()
            self._tenant = None
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def partner(self) -> Partner:
        token = self.request.auth
        assert isinstance(token, ApiToken)  # noqa: S101 - IsAuthenticated ran first
        return token.partner

    @property
    def token(self) -> ApiToken:
        token = self.request.auth
        assert isinstance(token, ApiToken)  # noqa: S101 - IsAuthenticated ran first
        return token

    def resync_answer(self, resync: Resync, resource_url: str) -> Response:
        body = {
            "status": "queued",
            "check": resync.task,
            "resource": resource_url,
            "events": reverse("api:event-list"),
        }
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": resource_url})


class PublicIdLookup:
    """Looks a row up by its public UUID; anything that is not one is a 404, not a 500."""

    def get_object(self) -> Any:
        view: Any = self
        public_id = parse_public_id(str(view.kwargs[view.lookup_url_kwarg]))
        if public_id is None:
            raise Problem(
                status=404, code="not_found", detail="Nothing of this partner has this id."
            )
        view.kwargs[view.lookup_url_kwarg] = public_id
        return super().get_object()  # type: ignore[misc]


@extend_schema_view(
    list=extend_schema(
        summary="List onboardings", responses={200: OnboardingSerializer, **problems(400, 403)}
    ),
    retrieve=extend_schema(
        summary="One onboarding", responses={200: OnboardingSerializer, **problems(403, 404)}
    ),
)
class OnboardingViewSet(
    PublicIdLookup, mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerApiView
):
    serializer_class = OnboardingSerializer
    filterset_class = OnboardingFilter
    lookup_field = "public_id"

    def get_queryset(self) -> QuerySet[Onboarding]:
        return Onboarding.objects.select_related("client").prefetch_related(
            Prefetch("channels", queryset=Channel.objects.only("hub_channel_id", "onboarding_id"))
        )

    @extend_schema(
        summary="Check with 360Dialog now",
        description="Queues a Partner API check of the onboarding's client and channels. "
        "Changes appear on the onboarding and as events.",
        request=None,
        responses={202: ResyncSerializer, **problems(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def resync(self, request: Request, id: str) -> Response:
        onboarding = self.get_object()
        with transaction.atomic():
            resync = onboarding_resync(onboarding=onboarding)
        url = reverse("api:onboarding-detail", kwargs={"id": onboarding.public_id})
        return self.resync_answer(resync, url)


@extend_schema_view(
    list=extend_schema(
        summary="List clients", responses={200: ClientSerializer, **problems(400, 403)}
    ),
    retrieve=extend_schema(
        summary="One client", responses={200: ClientSerializer, **problems(403, 404)}
    ),
)
class ClientViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerApiView):
    serializer_class = ClientSerializer
    filterset_class = ClientFilter
    lookup_field = "hub_client_id"

    def get_queryset(self) -> QuerySet[Client]:
        return Client.objects.prefetch_related(
            Prefetch("channels", queryset=Channel.objects.only("hub_channel_id", "client_id"))
        )


@extend_schema_view(
    list=extend_schema(
        summary="List channels", responses={200: ChannelSerializer, **problems(400, 403)}
    ),
    retrieve=extend_schema(
        summary="One channel", responses={200: ChannelSerializer, **problems(403, 404)}
    ),
)
class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PartnerApiView):
    serializer_class = ChannelSerializer
    filterset_class = ChannelFilter
    lookup_field = "hub_channel_id"
    required_scopes = {"api_key": ApiToken.Scope.KEYS}

    def get_queryset(self) -> QuerySet[Channel]:
        return Channel.objects.select_related("client", "onboarding").prefetch_related(
            Prefetch("api_keys", queryset=ApiKey.objects.only("channel_id", "revoked_at"))
        )

    @extend_schema(
        summary="The channel's current API key",
        description="Needs the `keys` scope and the partner's switch for API key reads "
        "(off by default). Every read is written to the audit log. Rate-limited per token.",
        responses={200: ApiKeySerializer, **problems(403, 404)},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="api-key",
        throttle_classes=[TokenRateThrottle, ApiKeyReadThrottle],
    )
    def api_key(self, request: Request, id: str) -> Response:
        try:
            key = channel_api_key_read(
                partner=self.partner, token=self.token, channel_id=id, ip=client_ip(request)
            )
        except ChannelNotFoundError:
            raise Problem(
                status=404, code="not_found", detail="Nothing of this partner has this id."
            ) from None
        except KeyReadRefusedError as refused:
            status_code = 403 if refused.code == "api_key_reads_disabled" else 404
            raise Problem(status=status_code, code=refused.code, detail=refused.message) from None
        response = Response(ApiKeySerializer(key).data)
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Check with 360Dialog now",
        description="Queues a Partner API check of the channel. Changes appear on the channel "
        "and as events.",
        request=None,
        responses={202: ResyncSerializer, **problems(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def resync(self, request: Request, id: str) -> Response:
        channel = self.get_object()
        with transaction.atomic():
            resync = channel_resync(channel=channel)
        url = reverse("api:channel-detail", kwargs={"id": channel.hub_channel_id})
        return self.resync_answer(resync, url)


@extend_schema_view(
    list=extend_schema(
        summary="List invites", responses={200: InviteSerializer, **problems(400, 403)}
    ),
    retrieve=extend_schema(
        summary="One invite", responses={200: InviteSerializer, **problems(403, 404)}
    ),
    create=extend_schema(
        summary="Make an invite",
        description="Returns the link to send the client, this once (only its hash is kept).",
        request=InviteSerializer,
        responses={201: InviteCreatedSerializer, **problems(400, 403)},
    ),
)
class InviteViewSet(
    PublicIdLookup,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    PartnerApiView,
):
    serializer_class = InviteSerializer
    filterset_class = InviteFilter
    lookup_field = "public_id"
    required_scopes = {"create": ApiToken.Scope.INVITES, "revoke": ApiToken.Scope.INVITES}

    def get_queryset(self) -> QuerySet[Invite]:
        return Invite.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = serializer.validated_data
        invite, link = invite_create(
            partner=self.partner,
            email=values.get("email", ""),
            contact_name=values.get("contact_name", ""),
            phone_number=values.get("phone_number", ""),
            partner_payload=values.get("partner_payload", ""),
            expires_at=values.get("expires_at"),
        )
        invite.link = link  # type: ignore[attr-defined]
        response = Response(InviteCreatedSerializer(invite).data, status=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:invite-detail", kwargs={"id": invite.public_id})
        response["Cache-Control"] = "no-store"
        return response

    @extend_schema(
        summary="Revoke an invite",
        description="Its link stops working. Revoking a revoked invite changes nothing.",
        request=None,
        responses={200: InviteSerializer, **problems(403, 404)},
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, id: str) -> Response:
        invite = invite_revoke(invite=self.get_object())
        return Response(InviteSerializer(invite).data)


@extend_schema_view(
    list=extend_schema(
        summary="List outbound endpoints",
        responses={200: EndpointSerializer, **problems(400, 403)},
    ),
    retrieve=extend_schema(
        summary="One outbound endpoint",
        responses={200: EndpointSerializer, **problems(403, 404)},
    ),
    create=extend_schema(
        summary="Add an outbound endpoint",
        description="Events are POSTed to it, signed per Standard Webhooks with the `secret` "
        "in the answer: shown this once (only an encrypted copy is kept).",
        request=EndpointSerializer,
        responses={201: EndpointSecretSerializer, **problems(400, 403)},
    ),
)
class EndpointViewSet(
    PublicIdLookup,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    PartnerApiView,
):
    serializer_class = EndpointSerializer
    filter_backends = [OrderingFilter]
    lookup_field = "public_id"
    required_scopes = {
        action: ApiToken.Scope.ENDPOINTS
        for action in ("list", "retrieve", "create", "rotate_secret", "disable")
    }

    def get_queryset(self) -> QuerySet[Endpoint]:
        return Endpoint.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = EndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = endpoint_create(
            partner=self.partner,
            url=serializer.validated_data["url"],
            event_types=serializer.validated_data.get("event_types", []),
        )
        return self._secret_answer(endpoint, secret, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rotate an endpoint's signing secret",
        description="The new secret is in the answer, shown this once; the old one keeps "
        "signing alongside it for 24 hours (`previous_secret_until`), so receivers can switch.",
        request=None,
        responses={200: EndpointSecretSerializer, **problems(403, 404)},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()
        secret = endpoint_secret_rotate(endpoint=endpoint)
        return self._secret_answer(endpoint, secret, status.HTTP_200_OK)

    @extend_schema(
        summary="Disable an endpoint",
        description="Nothing more is sent to it; its pending deliveries stop. Events stay "
        "in the feed (`GET /api/v1/events`). Disabling a disabled endpoint changes nothing.",
        request=EndpointDisableSerializer,
        responses={200: EndpointSerializer, **problems(400, 403, 404)},
    )
    # The reason is optional: a bare POST, form-encoded or not, disables too.
    @action(detail=True, methods=["post"], parser_classes=[JSONParser, FormParser, MultiPartParser])
    def disable(self, request: Request, id: str) -> Response:
        endpoint = self.get_object()  # another partner's id is a 404 whatever the body
        serializer = EndpointDisableSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = endpoint_disable(endpoint=endpoint, reason=serializer.validated_data["reason"])
        return Response(EndpointSerializer(endpoint).data)

    def _secret_answer(self, endpoint: Endpoint, secret: str, code: int) -> Response:
        data = EndpointSecretSerializer(endpoint).data
        data["secret"] = secret
        response = Response(data, status=code)
        response["Location"] = reverse("api:endpoint-detail", kwargs={"id": endpoint.public_id})
        response["Cache-Control"] = "no-store"
        return response


class EventSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The webhook-id the event was sent with.")
    type = serializers.CharField()
    version = serializers.IntegerField()
    timestamp = serializers.DateTimeField()
    data = serializers.DictField()  # type: ignore[assignment]


class EventPageSerializer(serializers.Serializer[Any]):
    results = EventSerializer(many=True)
    next = serializers.CharField(help_text="Poll this URL for what comes after these.")


@extend_schema_view(
    list=extend_schema(
        summary="Events, oldest first",
        description="The outbound events as a feed, for platforms that poll. Start without "
        "`after`; then call `next` (always given), which holds the last event's cursor. "
        "Events show once they are a few seconds old, so none is skipped.",
        parameters=[
            OpenApiParameter("after", str, description="The cursor from the previous `next`."),
            OpenApiParameter("type", str, description="Only events of this type."),
            OpenApiParameter(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": 200},
                description="At most this many (1-200, default 100).",
            ),
        ],
        responses={200: EventPageSerializer, **problems(400, 403)},
    ),
)
class EventViewSet(mixins.ListModelMixin, PartnerApiView):
    schema = OnePageSchema()
    serializer_class = EventSerializer
    pagination_class = None  # type: ignore[assignment]
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[DomainEvent]:
        return DomainEvent.objects.all()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            after = feed_cursor_decode(request.query_params.get("after", ""))
            limit = int(request.query_params.get("limit", "100"))
        except ValueError:
            raise serializers.ValidationError({"after": ["Not a cursor from `next`."]}) from None
        if not 1 <= limit <= 200:
            raise serializers.ValidationError({"limit": ["Between 1 and 200."]})
        events = event_feed(after=after, limit=limit, type=request.query_params.get("type"))
        last = events[-1].pk if events else after
        query = {"after": feed_cursor_encode(last), "limit": limit}
        if request.query_params.get("type"):
            query["type"] = request.query_params["type"]
        return Response(
            {
                "results": [event_document(event) for event in events],
                "next": f"{reverse('api:event-list')}?{urlencode(query)}",
            }
        )
