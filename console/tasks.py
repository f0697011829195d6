"""The stuck check (beat): one task over every active partner, each in its own scope."""

from __future__ import annotations

import logging

from celery import shared_task

from console.services import stuck_digest_send, stuck_flags_update
from portal.entry import partner_task_scope
from portal.models import Partner

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
