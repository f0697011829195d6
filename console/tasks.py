"""Beat's console tasks: the stuck check over every active partner, each in its own scope, and
the home page's figures kept fresh for every partner and for all partners."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from console.selectors import WINDOWS, home_figures_refresh
from console.services import stuck_digest_send, stuck_flags_update
from portal.entry import partner_task_scope
from portal.models import Partner
from portal.tenancy import all_partners_scope

logger = logging.getLogger(__name__)


@shared_task(name="console.flag_stuck_onboardings", soft_time_limit=300, time_limit=330)
def flag_stuck_onboardings() -> dict[str, int]:
    totals = {"flagged": 0, "cleared": 0, "mailed": 0}
    for partner_id in Partner.objects.filter(is_active=True).values_list("pk", flat=True):
        with partner_task_scope(partner_id) as partner:
            scan = stuck_flags_update(partner=partner)
            totals["flagged"] += scan.flagged
            totals["cleared"] += scan.cleared
            try:
                totals["mailed"] += stuck_digest_send(partner=partner)
            except Exception:  # the mail server: the flags stay unnotified for the next run
                logger.warning(
                    "stuck digest not sent", extra={"partner": partner.slug}, exc_info=True
                )
    return totals


# How often beat runs refresh_home_figures (CELERY_BEAT_SCHEDULE): what it keeps outlives
# HOME_FIGURES_SECONDS by this much, so the next run replaces it before it expires.
FIGURES_REFRESH_SECONDS = 60


@shared_task(name="console.refresh_home_figures", soft_time_limit=50, time_limit=58)
def refresh_home_figures() -> dict[str, int]:
    """The home page's funnel and charts computed anew and kept, for each window: of all
    partners (what a superuser sees) and of each partner in its own scope (a manager of one
    partner, or one partner chosen), so a page load almost never computes them itself. A
    manager of several partners sees a set not kept here: that page computes it when none is
    kept, as before. Nothing when HOME_FIGURES_SECONDS is 0 (every request computes them)."""
    seconds = settings.HOME_FIGURES_SECONDS
    if seconds <= 0:
        return {"kept": 0}
    keep_for = seconds + FIGURES_REFRESH_SECONDS
    kept = 0
    with all_partners_scope():
        every = sorted(Partner.objects.values_list("pk", flat=True))
        if len(every) > 1:  # one partner: its own set below is the same
            for days in WINDOWS:
                home_figures_refresh(partner_ids=every, days=days, keep_for=keep_for)
                kept += 1
    for partner_id in every:
        try:
            with partner_task_scope(partner_id) as partner:
                for days in WINDOWS:
                    home_figures_refresh(partner_ids=[partner.pk], days=days, keep_for=keep_for)
                    kept += 1
        except Partner.DoesNotExist:  # deleted since it was listed
            continue
    return {"kept": kept}
