"""Sent after the transaction that recorded a domain event commits (never if it rolled back).

Receivers only wake their own worker (arguments: `partner_id`, `event_id`); a lost wake-up is
made good by their sweep, since the row is already committed."""

from __future__ import annotations

from django.dispatch import Signal

domain_event_committed = Signal()
