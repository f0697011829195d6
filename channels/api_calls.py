"""Records of Partner API calls: one row per call made for a channel or an onboarding, and per
failed call made for the whole partner (reconciliation's pages), for the onboarding's story and
the console's "needs attention".

Each row is written on a connection of its own (the `partner_api_calls` database alias, the
same database), in autocommit, at the moment the call ends: the caller is usually inside a
transaction that a failure rolls back (provisioning holds the channel's row lock while it asks
360Dialog), and the record of that failure must outlive it. The row has no foreign-key
constraint to the channel or onboarding, so writing it never waits for the caller's locks.
Recording never fails a call: a record that cannot be written is logged and dropped."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import DatabaseError, connections
from django.utils import timezone

from channels.models import PartnerApiCall
from portal.metrics import observe_partner_api
from portal.tenancy import all_partners_scope

logger = logging.getLogger(__name__)

DATABASE = "partner_api_calls"


def partner_api_observer(
    *, partner_id: int, channel_id: int | None = None, onboarding_id: int | None = None
) -> Callable[[str, str, float, str], None]:
    """The observer for a PartnerApiClient working for this partner (and this channel or
    onboarding, when given): metrics for every call, and a PartnerApiCall row."""
    about_something = channel_id is not None or onboarding_id is not None

    def observe(operation: str, outcome: str, seconds: float, error: str = "") -> None:
        observe_partner_api(operation, outcome, seconds, error)
        if about_something or error:
            partner_api_call_record(
                partner_id=partner_id,
                channel_id=channel_id,
                onboarding_id=onboarding_id,
                operation=operation,
                outcome=outcome,
                seconds=seconds,
                error=error,
            )

    return observe


def partner_api_call_record(
    *,
    partner_id: int,
    channel_id: int | None,
    onboarding_id: int | None,
    operation: str,
    outcome: str,
    seconds: float,
    error: str,
) -> None:
    """Write one call's row on the records' own connection, committed at once. Never raises."""
    try:
        with all_partners_scope():  # the row names its partner; any caller's scope will do
            PartnerApiCall.objects.using(DATABASE).create(
                partner_id=partner_id,
                channel_id=channel_id,
                onboarding_id=onboarding_id,
                at=timezone.now() - timedelta(seconds=seconds),
                operation=operation[:40],
                outcome=outcome[:16],
                ok=not error,
                duration_ms=max(0, round(seconds * 1000)),
                error=error[:500],
            )
    except DatabaseError:
        connections[DATABASE].close_if_unusable_or_obsolete()
        logger.warning(
            "partner api call not recorded",
            extra={"operation": operation, "outcome": outcome},
            exc_info=True,
        )
    except Exception:  # e.g. a test that did not ask for this database: never fail the call
        logger.warning(
            "partner api call not recorded", extra={"operation": operation}, exc_info=True
        )
