"""Writing the audit log. Every audited action calls `audit_record` in its own transaction's
scope, also when the action was refused or failed."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User

from audit.models import AuditEntry
from portal.models import Partner


def audit_record(
    *,
    partner: Partner,
    action: str,
    user: User | AbstractBaseUser | AnonymousUser | None = None,
    actor: str = "",
    target_type: str = "",
    target_id: str | int = "",
    target_label: str = "",
    outcome: str = AuditEntry.Outcome.OK,
    reason: str = "",
    ip: str | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry. `actor` defaults to the user's name; an API token passes its own name."""
    staff = user if isinstance(user, User) else None
    return AuditEntry.objects.create(
        partner=partner,
        user=staff,
        actor=(actor or (staff.get_username() if staff else "system"))[:150],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        target_label=target_label[:200],
        outcome=outcome,
        reason=reason[:500],
        ip=ip or None,
        data=data or {},
    )
