"""The channel lifecycle as one explicit transition table.

A channel only moves forward through STATUSES; an event for the current status changes
nothing, and one for an earlier status is stale: recorded, never applied.
"""

from __future__ import annotations

from enum import StrEnum

from channels.models import Channel

STATUSES: tuple[str, ...] = (
    Channel.Status.CREATED,
    Channel.Status.SUBMITTED,
    Channel.Status.READY,
    Channel.Status.RUNNING,
    Channel.Status.LIVE,
)
# The status a lifecycle event announces; other channel events carry theirs in data.status.
EVENT_STATUS: dict[str, str] = {f"channel_{status}": status for status in STATUSES}
# Statuses at which the partner may hold an API key.
KEY_STATUSES = frozenset({Channel.Status.RUNNING, Channel.Status.LIVE})


class Move(StrEnum):
    FORWARD = "forward"
    SAME = "same"
    STALE = "stale"
    UNKNOWN = "unknown"  # a status 360Dialog added that we do not know: kept out of the table


def move(current: str, target: str) -> Move:
    if target not in STATUSES:
        return Move.UNKNOWN
    if current not in STATUSES:  # only ever set from STATUSES; be safe anyway
        return Move.FORWARD
    step = STATUSES.index(target) - STATUSES.index(current)
    if step > 0:
        return Move.FORWARD
    return Move.SAME if step == 0 else Move.STALE
