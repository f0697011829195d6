"""Records of Partner API calls: one row per call made for a channel or an onboarding, and per
failed call made for the whole partner (reconciliation's pages), for the onboarding's story and
the console's "needs attention".

The rows are written on a connection of their own (the `partner_api_calls` database alias, the
same database), in autocommit: the caller is usually inside a transaction that a failure rolls
back (provisioning holds the channel's row lock while it asks 360Dialog), and the record of that
failure must outlive it. A client's calls are kept until it closes and then written in one
statement (a key's three calls were three commits). The row has no foreign-key constraint to
the channel or onboarding, so writing it never waits for the caller's locks. Recording never
fails a call: rows that cannot be written are logged and dropped."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import DatabaseError, connections
from django.utils import timezone

from channels.models import PartnerApiCall
from portal.metrics import observe_partner_api
from portal.tenancy import all_partners_scope

logger = logging.getLogger(__name__)

DATABASE = "partner_api_calls"


class PartnerApiCallLog:
    """The observer of a PartnerApiClient working for a partner (and a channel or onboarding,
    when given): metrics for every call at once, and the rows to record, written by `flush`."""

    def __init__(
        self, *, partner_id: int, channel_id: int | None = None, onboarding_id: int | None = None
    ) -> None:
        self.partner_id = partner_id
        self.channel_id = channel_id
        self.onboarding_id = onboarding_id
        self.pending: list[PartnerApiCall] = []

    def observe(self, operation: str, outcome: str, seconds: float, error: str = "") -> None:
        observe_partner_api(operation, outcome, seconds, error)
        if self.channel_id is not None or self.onboarding_id is not None or error:
            self.pending.append(
                PartnerApiCall(
                    partner_id=self.partner_id,
                    channel_id=self.channel_id,
                    onboarding_id=self.onboarding_id,
                    at=timezone.now() - timedelta(seconds=seconds),
                    operation=operation[:40],
                    outcome=outcome[:16],
                    ok=not error,
                    duration_ms=max(0, round(seconds * 1000)),
                    error=error[:500],
                )
            )

    def flush(self) -> None:
        """Write the kept rows in one statement, committed at once. Never raises."""
        rows, self.pending = self.pending, []
        if not rows:
            return
        try:
            with all_partners_scope():  # each row names its partner; any caller's scope will do
                PartnerApiCall.objects.using(DATABASE).bulk_create(rows)
        except Exception as error:  # never fail the work (a test may not ask for this database)
            if isinstance(error, DatabaseError):
                connections[DATABASE].close_if_unusable_or_obsolete()
            logger.warning(
                "partner api calls not recorded",
                extra={"operations": [row.operation for row in rows]},
                exc_info=True,
            )
