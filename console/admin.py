"""The console's admin pages: the onboarding's one-page story (the onboarding admin of
`clients`, extended), the stuck onboardings, and each partner's own stuck thresholds."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from clients.admin import OnboardingAdmin
from clients.models import Onboarding
from console.models import StuckFlag, StuckThresholds
from console.selectors import onboarding_story
from console.views import ONBOARDING_ACTIONS
from portal.admin_tenancy import TenantAdmin, partner_access
from portal.models import Partner


class ConsoleOnboardingAdmin(OnboardingAdmin):
    """The onboarding page tells its whole story: numbers with their keys (masked), one
    timeline, and the actions a manager may take."""

    change_form_template = "admin/console/onboarding_change_form.html"
    inlines = []  # the story's timeline replaces the inline list of entries

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
