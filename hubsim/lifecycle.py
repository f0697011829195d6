"""Channels walking through their lifecycle, and the signed webhooks the hub sends about them:
in 360Dialog's order, or held back and reordered, duplicated, dropped or mis-signed as the
fault switches say."""

from __future__ import annotations

import json
import random
import secrets
from typing import Any

from dialog360.signatures import WEBHOOK_SIGNATURE_HEADER, webhook_signature
from hubsim.delivery import Delivery
from hubsim.faults import LIFECYCLE
from hubsim.state import Batch, Channel, HubError, HubState, Partner, steps_after, utc_now

STEP_EVENTS = {status: f"channel_{status}" for status in LIFECYCLE}


class Lifecycle(HubState):
    def advance(self, channel_id: str, to: str | None = None) -> Channel:
        """Walk a channel on from where it stands (halted by stop_at) up to `to`, or to the end."""
        with self.lock:
            channel = self._channel(channel_id)
            if to is not None and to not in LIFECYCLE:
                raise HubError(400, f"to must be one of {', '.join(LIFECYCLE)}")
            batch = self._batch()
            if not channel.remaining_steps:
                channel.remaining_steps = steps_after(channel.status, to)
                self._step_later(channel, batch)
                self._changed()
            return channel

    def event_send(
        self, *, partner_id: str, event: str, channel_id: str = "", data: Any = None
    ) -> None:
        """Send any event now: a channel's object as data, or the data given."""
        with self.lock:
            partner = self._partner(partner_id)
            if channel_id:
                data = self._channel(channel_id).as_json()
            elif data is None:
                raise HubError(400, "give channel_id or data")
            batch = self._batch()
            self._emit(partner, event, data, batch)
            self._flush_if_done(batch)

    def _step_later(self, channel: Channel, batch: Batch) -> None:
        if channel.remaining_steps:
            batch.pending += 1
            self.scheduler.call_later(self.faults.webhook_delay, lambda: self._step(channel, batch))

    def _step(self, channel: Channel, batch: Batch) -> None:
        with self.lock:
            batch.pending -= 1
            if self.channels.get(channel.id) is not channel or not channel.remaining_steps:
                self._flush_if_done(batch)
                return  # reset meanwhile
            partner = self._partner(channel.partner_id)
            status = channel.remaining_steps.pop(0)
            channel.status = status
            if status == "running":
                channel.billing_started_at = utc_now()
            self._emit(partner, STEP_EVENTS[status], channel.as_json(), batch)
            if status == "ready" and partner.payment_mode == "direct" and channel.permission:
                self._emit(partner, "channel_permission_granted", channel.as_json(), batch)
            self._step_later(channel, batch)
            self._flush_if_done(batch)
            self._changed()

    def _emit(self, partner: Partner, event: str, data: Any, batch: Batch) -> None:
        faults = self.faults
        if "*" in faults.drop_events or event in faults.drop_events or not partner.webhook_url:
            return
        event_id = f"evt_{secrets.token_hex(8)}" if faults.send_event_ids else None
        payload = {"event": event, "data": data}
        if event_id:
            payload = {"id": event_id, **payload}
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", **partner.webhook_headers}
        signature = self._signature(partner, body)
        if signature is not None:
            headers[WEBHOOK_SIGNATURE_HEADER] = signature
        copies = 2 if faults.duplicate_webhooks else 1
        for copy in range(copies):
            delivery = Delivery(
                partner_id=partner.partner_id,
                url=partner.webhook_url,
                event=event,
                event_id=event_id,
                body=body,
                headers=headers,
                retries_left=faults.webhook_retries,
                retry_delay=faults.webhook_retry_delay,
                duplicate=copy > 0,
                generation=self.generation,
            )
            self.deliveries.append(delivery)
            if batch.order == "normal":
                self.sender.send(delivery)
            else:
                batch.held.append(delivery)

    def _signature(self, partner: Partner, body: bytes) -> str | None:
        mode = self.faults.webhook_signature
        if mode == "none" or not partner.platform_secret:
            return None
        if mode == "wrong":
            return webhook_signature(body, partner.platform_secret + "-wrong")
        value = webhook_signature(body, partner.platform_secret)
        if mode == "sha256":
            return f"sha256={value}"
        if mode == "upper":
            return value.upper()
        return value

    def _batch(self) -> Batch:
        return Batch(order=self.faults.webhook_order)

    def _flush_if_done(self, batch: Batch) -> None:
        if batch.pending or not batch.held:
            return
        held, batch.held = batch.held, []
        if batch.order == "reverse":
            held.reverse()
        else:
            random.Random(self.faults.seed).shuffle(held)  # noqa: S311
        for delivery in held:
            self.sender.send(delivery)

    def _record_attempt(self, delivery: Delivery, attempt: dict[str, Any], final: bool) -> None:
        with self.lock:
            delivery.attempts.append(attempt)
            delivery.done = final

    def _is_current(self, delivery: Delivery) -> bool:
        with self.lock:
            return delivery.generation == self.generation

    def _retry_later(self, delay: float, delivery: Delivery) -> None:
        if self._is_current(delivery):
            self.scheduler.call_later(delay, lambda: self.sender.send(delivery))
