"""The console's admin pages: the onboarding's one-page story (the onboarding admin of
`clients`, extended), the stuck onboardings, and each partner's own stuck thresholds."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.db.models import CharField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince

from audit.services import audit_record
from channels.admin import ApiKeyAdmin, ChannelAdmin
from channels.models import ApiKey, Channel, PartnerApiCall
from clients.admin import (
    ClientAdmin,
    InviteAdmin,
    NotificationAdmin,
    OnboardingAdmin,
    TimelineEntryAdmin,
)
from clients.models import Client, Invite, Notification, Onboarding, TimelineEntry
from console.models import StuckFlag, StuckReason, StuckThresholds
from console.search import (
    channel_ids_matching,
    channel_search,
    client_search,
    event_refs,
    onboarding_ids_matching,
    onboarding_search,
    webhook_event_search,
)
from console.selectors import channels_with_key_flag, current_step, onboarding_story
from console.views import ONBOARDING_ACTIONS
from dialog360.events import KNOWN_EVENTS
from portal.admin import PartnerAdmin, PartnerMembershipAdmin
from portal.admin_tenancy import PartnerFilter, TenantAdmin, partner_access
from portal.client_ip import client_ip
from portal.models import Partner, PartnerMembership
from webhooks.admin import WebhookEventAdmin
from webhooks.models import WebhookEvent


class TermSearch:
    """The console's lists search with their own indexed queries instead of the admin's
    `search_fields`: `search` gets the term without NUL characters and surrounding spaces, and
    only when there is one."""

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.replace("\x00", "").strip()
        if not term:
            return queryset, False
        return self.search(request, queryset, term), False

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        raise NotImplementedError


class StuckFilter(admin.SimpleListFilter):
    title = "stuck"
    parameter_name = "stuck"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Stuck"), ("resolved", "Stuck, marked resolved"), ("no", "Not stuck")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "yes":
            return queryset.filter(stuck_flag__isnull=False, stuck_flag__resolved_at__isnull=True)
        if value == "resolved":
            return queryset.filter(stuck_flag__resolved_at__isnull=False)
        if value == "no":
            return queryset.filter(stuck_flag__isnull=True)
        return queryset


class StuckReasonFilter(admin.SimpleListFilter):
    title = "stuck because"
    parameter_name = "stuck_reason"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(StuckReason.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() in StuckReason.values:
            return queryset.filter(stuck_flag__reason=self.value())
        return queryset


CSV_COLUMNS = [
    "public_id",
    "partner",
    "created_at",
    "status",
    "current_step",
    "email",
    "contact_name",
    "phone_number",
    "crm_reference",
    "client_id",
    "channels",
    "stuck",
    "stuck_since",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


class ConsoleOnboardingAdmin(TermSearch, OnboardingAdmin):
    """The onboarding list at a glance (a badge per number, current step, age, time since the
    last progress, why it is stuck), a search that understands phone numbers in any usual
    format and 360Dialog's ids, a streamed CSV export of the filtered list; the onboarding
    page tells its whole story: numbers with their keys (masked), one timeline, and the
    actions a manager may take."""

    change_form_template = "admin/console/onboarding_change_form.html"
    change_list_template = "admin/console/onboarding_change_list.html"
    inlines = []  # the story's timeline replaces the inline list of entries
    list_display = [
        "__str__",
        "partner",
        "status_badge",
        "numbers",
        "step",
        "age",
        "last_progress",
        "stuck",
    ]
    list_select_related = ["partner", "client", "stuck_flag"]
    show_full_result_count = False
    list_per_page = 50

    def get_list_filter(self, request: HttpRequest) -> Any:
        inherited = [f for f in OnboardingAdmin.list_filter if not isinstance(f, str)]
        return [
            PartnerFilter,
            "status",
            StuckFilter,
            StuckReasonFilter,
            *inherited,
        ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("channels", queryset=channels_with_key_flag()))
        )

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return onboarding_search(queryset, term)

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv),
            name="clients_onboarding_export",
        )
        return [export, *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> HttpResponseBase:
        """The list as it is filtered and searched, streamed row by row."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseBadRequest("Unknown filter.")
        rows = changelist.queryset.select_related("partner", "client", "stuck_flag")
        writer = csv.writer(_Echo())

        def lines() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for onboarding in rows.iterator(chunk_size=500):
                yield writer.writerow(self._csv_row(onboarding))

        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="onboardings-{stamp}.csv"'
        return response

    @staticmethod
    def _csv_row(onboarding: Onboarding) -> list[str]:
        flag = _flag(onboarding)
        channels = list(onboarding.channels.all())
        return [
            str(onboarding.public_id),
            onboarding.partner.slug,
            onboarding.created_at.isoformat(),
            onboarding.status,
            current_step(onboarding, channels),
            onboarding.email,
            onboarding.contact_name,
            onboarding.phone_number,
            onboarding.partner_payload,
            onboarding.client.hub_client_id if onboarding.client else "",
            " ".join(f"{c.hub_channel_id}:{c.phone_number}:{c.status}" for c in channels),
            flag.reason if flag and not flag.resolved_at else "",
            flag.since.isoformat() if flag and not flag.resolved_at else "",
        ]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: Onboarding) -> str:
        return format_html(
            '<span class="badge badge--{}">{}</span>', obj.status, obj.get_status_display()
        )

    @admin.display(description="numbers")
    def numbers(self, obj: Onboarding) -> str:
        channels = list(obj.channels.all())
        if not channels:
            return "—"
        return format_html(
            '<span class="channel-badges">{}</span>',
            format_html_join(
                "",
                '<span class="badge badge--{}" title="{}">{} {}</span>',
                (
                    (
                        "failed" if c.api_key_error else c.status,
                        c.hub_channel_id,
                        c.label,
                        "key error" if c.api_key_error else c.get_status_display(),
                    )
                    for c in channels
                ),
            ),
        )

    @admin.display(description="step")
    def step(self, obj: Onboarding) -> str:
        return current_step(obj, list(obj.channels.all()))

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: Onboarding) -> str:
        return timesince(obj.created_at, depth=1)

    @admin.display(description="last progress", ordering="updated_at")
    def last_progress(self, obj: Onboarding) -> str:
        return f"{timesince(obj.updated_at, depth=1)} ago"

    @admin.display(description="stuck")
    def stuck(self, obj: Onboarding) -> str:
        flag = _flag(obj)
        if flag is None:
            return ""
        if flag.resolved_at:
            return f"resolved ({flag.get_reason_display()})"
        return format_html(
            '<span class="badge badge--stuck" title="{}">{}</span> {}',
            flag.detail,
            flag.get_reason_display(),
            f"for {timesince(flag.since, depth=1)}",
        )

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        onboarding = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if onboarding is not None:
            extra["story"] = onboarding_story(onboarding)
            extra["may_manage"] = partner_access(request).may_manage(onboarding.partner_id)
            extra["onboarding_actions"] = list(ONBOARDING_ACTIONS.items())
        return super().change_view(request, object_id, form_url, extra)


def _flag(onboarding: Onboarding) -> StuckFlag | None:
    try:
        return onboarding.stuck_flag
    except StuckFlag.DoesNotExist:
        return None


admin.site.unregister(Onboarding)
admin.site.register(Onboarding, ConsoleOnboardingAdmin)


@admin.register(StuckFlag)
class StuckFlagAdmin(TenantAdmin):
    """Flagged by the stuck check; a manager marks one resolved from the onboarding's page."""

    list_display = ["onboarding", "partner", "reason", "detail", "since", "resolved_at"]
    list_filter = ["reason", ("resolved_at", admin.EmptyFieldListFilter)]
    list_select_related = ["onboarding", "partner"]
    fields = readonly_fields = (
        "partner",
        "onboarding",
        "reason",
        "detail",
        "since",
        "flagged_at",
        "notified_at",
        "resolved_at",
        "resolved_by",
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(StuckThresholds)
class StuckThresholdsAdmin(TenantAdmin):
    """A partner's own thresholds; an empty field follows the setting
    (STUCK_THRESHOLDS_MINUTES)."""

    list_display = [
        "partner",
        "returned_no_channel",
        "channel_not_running",
        "running_no_key",
        "permission_missing",
    ]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.partner_ids(managed=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [] if obj is None else ["partner"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        access = partner_access(request)
        if db_field.name == "partner" and not access.all_partners:
            kwargs["queryset"] = Partner.objects.filter(pk__in=access.partner_ids(managed=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# ---------------------------------------------------------------------------------------------
# The other lists, searched through indexes (console/search.py) at any data size


def _partner_ids(request: HttpRequest) -> list[int]:
    access = partner_access(request)
    if access.all_partners:
        return list(Partner.objects.values_list("pk", flat=True))
    return access.partner_ids()


class ReceivedFilter(admin.SimpleListFilter):
    """A bounded look back in place of the date drill-down, whose DISTINCT over every event's
    day reads the whole table."""

    title = "received"
    parameter_name = "received"
    SPANS = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        span = self.SPANS.get(self.value() or "")
        if span is None:
            return queryset
        return queryset.filter(received_at__gte=timezone.now() - span)


class EventTypeFilter(admin.SimpleListFilter):
    """The event types 360Dialog is known to send: a fixed list, not a DISTINCT over every
    stored event."""

    title = "event type"
    parameter_name = "event_type__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(KNOWN_EVENTS)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        return queryset if value is None else queryset.filter(event_type=value)


class ConsoleWebhookEventAdmin(TermSearch, WebhookEventAdmin):
    """Each event with the channel and client it is about (linked), searchable by event id,
    channel or client id, a phone number in any usual format, or a client's name."""

    date_hierarchy = None  # type: ignore[assignment]
    list_display = [
        "received_at",
        "partner",
        "event_type",
        "status",
        "attempts",
        "hub_event_id",
        "channel",
        "client",
    ]
    search_help_text = (
        "Event id, channel or client id, a phone number (+49 151 ..., 0151 ...) or a client's name."
    )

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [PartnerFilter, "status", EventTypeFilter, ReceivedFilter]

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return webhook_event_search(queryset, term, partner_ids=_partner_ids(request))

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        """The page's channels and clients, found in two queries, linked from each row."""
        changelist = super().get_changelist_instance(request)
        events = list(changelist.result_list)
        refs = {event.pk: event_refs(event.payload) for event in events}
        channel_ids = {channel for channel, _ in refs.values() if channel}
        client_ids = {client for _, client in refs.values() if client}
        partner_ids = {event.partner_id for event in events}
        channels = {
            (row.partner_id, row.hub_channel_id): row
            for row in Channel.objects.filter(
                partner_id__in=partner_ids, hub_channel_id__in=channel_ids
            ).only("pk", "partner_id", "hub_channel_id", "phone_number")
        }
        clients = {
            (row.partner_id, row.hub_client_id): row
            for row in Client.objects.filter(
                partner_id__in=partner_ids, hub_client_id__in=client_ids
            ).only("pk", "partner_id", "hub_client_id", "name")
        }
        for event in events:
            channel_id, client_id = refs[event.pk]
            event.channel_ref = (channel_id, channels.get((event.partner_id, channel_id)))
            event.client_ref = (client_id, clients.get((event.partner_id, client_id)))
        return changelist

    @admin.display(description="channel")
    def channel(self, obj: WebhookEvent) -> str:
        hub_id, channel = getattr(obj, "channel_ref", ("", None))
        if channel is None:
            return hub_id or "—"
        url = reverse("admin:channels_channel_change", args=[channel.pk])
        return format_html('<a href="{}">{}</a> {}', url, channel.label, hub_id)

    @admin.display(description="client")
    def client(self, obj: WebhookEvent) -> str:
        hub_id, client = getattr(obj, "client_ref", ("", None))
        if client is None:
            return hub_id or "—"
        url = reverse("admin:clients_client_change", args=[client.pk])
        return format_html('<a href="{}">{}</a>', url, client.name or hub_id)


class ConsoleChannelAdmin(TermSearch, ChannelAdmin):
    search_help_text = (
        "Channel or client id, a phone number (+49 151 ..., 0151 ...) or a client's name."
    )
    readonly_fields = [*ChannelAdmin.readonly_fields, "partner_api_calls"]

    @admin.display(description="Partner API calls")
    def partner_api_calls(self, obj: Channel) -> str:
        """The latest calls made for this number, and the list of all of them."""
        calls = list(PartnerApiCall.objects.filter(channel_id=obj.pk).order_by("-at", "-pk")[:5])
        url = reverse("admin:channels_partnerapicall_changelist") + f"?q={obj.hub_channel_id}"
        lines = format_html_join(
            "",
            "<li>{} {} {} ({} ms) {}</li>",
            (
                (
                    f"{call.at:%Y-%m-%d %H:%M:%S}",
                    call.operation,
                    call.outcome,
                    call.duration_ms,
                    call.error,
                )
                for call in calls
            ),
        )
        return format_html(
            '<ul class="console-calls">{}</ul><a href="{}">All calls</a>', lines, url
        )

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return channel_search(queryset, term)


class ConsoleClientAdmin(TermSearch, ClientAdmin):
    search_help_text = "Client id, CRM reference, a name or e-mail, or a phone number."

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return client_search(queryset, term)


class ConsoleTimelineEntryAdmin(TermSearch, TimelineEntryAdmin):
    search_help_text = "The onboarding's e-mail, name, phone number, CRM reference or ids."

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return queryset.filter(onboarding_id__in=onboarding_ids_matching(term))


class ConsoleNotificationAdmin(TermSearch, NotificationAdmin):
    search_help_text = "What it is about (its key), or the onboarding's e-mail, number or ids."

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        ids = onboarding_ids_matching(term)
        return queryset.filter(Q(onboarding_id__in=ids) | Q(key=term))


class ConsoleApiKeyAdmin(TermSearch, ApiKeyAdmin):
    search_help_text = "The channel's id or number, the key's fingerprint or its last 4."

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        match = Q(channel_id__in=channel_ids_matching(term)) | Q(last4=term)
        if len(term) >= 4:
            match |= Q(fingerprint__startswith=term.lower())
        return queryset.filter(match)


@admin.register(PartnerApiCall)
class PartnerApiCallAdmin(TermSearch, TenantAdmin):
    """Every Partner API call made for a number or an onboarding, and every failed one: read
    only. Found by the number's channel id or phone number."""

    list_display = ["at", "operation", "outcome", "duration_ms", "error", "number", "story"]
    list_filter = ["ok", "operation"]
    search_help_text = "A channel id or a phone number (+49 151 ..., 0151 ...)."
    search_fields = ["operation"]  # shows the box; the search is get_search_results
    fields = readonly_fields = (
        "partner",
        "at",
        "operation",
        "outcome",
        "ok",
        "duration_ms",
        "error",
        "channel",
        "onboarding",
    )
    ordering = ["-at", "-pk"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def search(self, request: HttpRequest, queryset: QuerySet[Any], term: str) -> QuerySet[Any]:
        return queryset.filter(channel_id__in=channel_ids_matching(term))

    @admin.display(description="number")
    def number(self, obj: PartnerApiCall) -> str:
        if obj.channel_id is None:
            return "—"
        url = reverse("admin:channels_channel_change", args=[obj.channel_id])
        return format_html('<a href="{}">number</a>', url)

    @admin.display(description="onboarding")
    def story(self, obj: PartnerApiCall) -> str:
        if obj.onboarding_id is None:
            return "—"
        url = reverse("admin:clients_onboarding_change", args=[obj.onboarding_id])
        return format_html('<a href="{}">story</a>', url)


class ConsoleInviteAdmin(InviteAdmin):
    """Invites with whether and when each was used (the onboarding it started, from the
    timeline: clients.onboarding notes the invite) and "Send it by e-mail"."""

    list_display = [*InviteAdmin.list_display, "used"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        first_use = (
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.CREATED)
            .annotate(invite_ref=KT("data__invite"))
            .filter(invite_ref=Cast(OuterRef("public_id"), output_field=CharField()))
            .order_by("created_at", "pk")
        )
        invites: QuerySet[Any] = (
            super()
            .get_queryset(request)
            .annotate(
                used_at=Subquery(first_use.values("created_at")[:1]),
                used_by=Subquery(first_use.values("onboarding_id")[:1]),
            )
        )
        return invites

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_fields(request, obj))
        return [*fields, "used", "send"] if obj is not None else fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "used", "send"] if obj is not None else readonly

    @admin.display(description="used")
    def used(self, obj: Invite) -> str:
        used_at = getattr(obj, "used_at", None)
        if used_at is None:
            return "not yet"
        url = reverse("admin:clients_onboarding_change", args=[obj.used_by])  # type: ignore[attr-defined]
        return format_html(
            '<a href="{}">{}</a>', url, f"{timezone.localtime(used_at):%Y-%m-%d %H:%M}"
        )

    @admin.display(description="send it by e-mail")
    def send(self, obj: Invite) -> str:
        url = reverse("console:invite_action", args=[obj.pk, "send"])
        return format_html(
            '<a href="{}" data-action="send">Send a fresh link to {}</a>', url, obj.email or "—"
        )


SECRET_LABELS = {"api_key": "Partner API key", "platform_secret": "platform secret"}


class ConsolePartnerAdmin(PartnerAdmin):
    """Secret replacements and membership changes go to the audit log (never a value)."""

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        replaced = [
            name
            for name in SECRET_LABELS
            if (form.data.get(name) or "").strip() and name in form.changed_data
        ]
        super().save_model(request, obj, form, change)
        for name in replaced:
            audit_record(
                partner=obj,
                action="partner.secret_replace" if change else "partner.secret_set",
                user=request.user,
                target_type="partner",
                target_id=obj.pk,
                target_label=f"{obj.name}: {SECRET_LABELS[name]}",
                ip=client_ip(request),
                data={"field": name},
            )

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not PartnerMembership:
            super().save_formset(request, form, formset, change)
            return
        changed = [
            f.instance for f in formset.forms if f.has_changed() and f not in formset.deleted_forms
        ]
        deleted = [f.instance for f in formset.deleted_forms if f.instance.pk]
        before = {
            m.pk: m.role
            for m in PartnerMembership.objects.filter(pk__in=[m.pk for m in changed if m.pk])
        }
        super().save_formset(request, form, formset, change)
        for membership in changed:
            _membership_audit(request, membership, before.get(membership.pk))
        for membership in deleted:
            _membership_audit(request, membership, membership.role, removed=True)

    def rotate_webhook_token(
        self, request: HttpRequest, queryset: QuerySet[Partner]
    ) -> HttpResponse | None:
        response = super().rotate_webhook_token(request, queryset)
        if request.POST.get("confirm") == "yes":
            access = partner_access(request)
            for partner in queryset:
                if access.may_manage(partner.pk):
                    audit_record(
                        partner=partner,
                        action="partner.secret_replace",
                        user=request.user,
                        target_type="partner",
                        target_id=partner.pk,
                        target_label=f"{partner.name}: webhook token",
                        ip=client_ip(request),
                        data={"field": "webhook_token"},
                    )
        return response


class ConsolePartnerMembershipAdmin(PartnerMembershipAdmin):
    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = (
            PartnerMembership.objects.filter(pk=obj.pk).values_list("role", flat=True).first()
            if change
            else None
        )
        super().save_model(request, obj, form, change)
        _membership_audit(request, obj, before)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        role = obj.role
        super().delete_model(request, obj)
        _membership_audit(request, obj, role, removed=True)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        gone = list(queryset.select_related("user", "partner"))
        super().delete_queryset(request, queryset)
        for membership in gone:
            _membership_audit(request, membership, membership.role, removed=True)


def _membership_audit(
    request: HttpRequest,
    membership: PartnerMembership,
    before: str | None,
    *,
    removed: bool = False,
) -> None:
    """membership.add, .change (its role) or .remove, on the partner's audit log."""
    if removed:
        action, data = "membership.remove", {"role": before}
    elif before is None:
        action, data = "membership.add", {"role": membership.role}
    elif before != membership.role:
        action, data = "membership.change", {"role": membership.role, "was": before}
    else:
        return
    audit_record(
        partner=membership.partner,
        action=action,
        user=request.user,
        target_type="user",
        target_id=membership.user_id,
        target_label=membership.user.get_username(),
        ip=client_ip(request),
        data=data,
    )


for model, console_admin in (
    (WebhookEvent, ConsoleWebhookEventAdmin),
    (Channel, ConsoleChannelAdmin),
    (Client, ConsoleClientAdmin),
    (TimelineEntry, ConsoleTimelineEntryAdmin),
    (Notification, ConsoleNotificationAdmin),
    (ApiKey, ConsoleApiKeyAdmin),
    (Invite, ConsoleInviteAdmin),
    (Partner, ConsolePartnerAdmin),
    (PartnerMembership, ConsolePartnerMembershipAdmin),
):
    admin.site.unregister(model)
    admin.site.register(model, console_admin)
