"""Recording what the client's pages report (the beacon): one row per page and kind."""

from __future__ import annotations

from clients.models import Onboarding
from clients.page_events import Page
from console.models import PageEvent
from portal.tenancy import partners_scope

# What each page may report: the signup page only its view; the onboarding page its popup.
KINDS_WITHOUT_ONBOARDING = {PageEvent.Kind.SIGNUP_VIEWED}
KINDS_WITH_ONBOARDING = {PageEvent.Kind.POPUP_BLOCKED, PageEvent.Kind.POPUP_CLOSED_EARLY}


def page_event_record(*, page: Page, kind: str) -> bool:
    """Record that `page` reported `kind`. False, recording nothing, when the kind is unknown
    or not one this page can report, or its onboarding is not the partner's; a page's second
    report of the same kind is taken and ignored (True). Two queries."""
    allowed = KINDS_WITH_ONBOARDING if page.onboarding else KINDS_WITHOUT_ONBOARDING
    if kind not in allowed:
        return False
    with partners_scope([page.partner_id]):
        onboarding_id = None
        if page.onboarding is not None:
            onboarding_id = (
                Onboarding.objects.filter(public_id=page.onboarding)
                .values_list("pk", flat=True)
                .first()
            )
            if onboarding_id is None:
                return False
        PageEvent.objects.bulk_create(
            [
                PageEvent(
                    partner_id=page.partner_id,
                    onboarding_id=onboarding_id,
                    kind=kind,
                    page=page.page_id,
                )
            ],
            ignore_conflicts=True,
        )
    return True
