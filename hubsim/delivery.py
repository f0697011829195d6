"""Partner webhook delivery: signed POSTs to the partner's webhook URL, retried like 360Dialog
does (a 2xx counts as delivered; anything else is tried again), every attempt recorded."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)
DELIVERY_TIMEOUT = 5.0  # 360Dialog's own deadline for a 200


@dataclass
class Delivery:
    partner_id: str
    url: str
    event: str
    event_id: str | None
    body: bytes
    headers: dict[str, str]
    retries_left: int
    retry_delay: float
    duplicate: bool = False
    done: bool = False  # delivered, or given up on
    generation: int = 0  # the hub's reset count when it was made; older ones are dropped
    attempts: list[dict[str, Any]] = field(default_factory=list)


class Sender:
    """One thread posting deliveries in the order they are queued."""

    def __init__(
        self,
        *,
        record: Callable[[Delivery, dict[str, Any], bool], None],
        retry: Callable[[float, Delivery], None],
        current: Callable[[Delivery], bool],
    ) -> None:
        self._record = record
        self._retry = retry
        self._current = current
        self._posting = threading.Lock()  # held while a delivery is on the wire
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._http = httpx.Client(timeout=DELIVERY_TIMEOUT, follow_redirects=False)
        self._thread = threading.Thread(target=self._run, name="hubsim-sender", daemon=True)
        self._thread.start()

    def send(self, delivery: Delivery) -> None:
        self._queue.put(delivery)

    def drain(self) -> None:
        """Drop every queued delivery and wait for the one on the wire, if any."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            self._queue.task_done()
            if item is None:  # keep a stop request
                self._queue.put(None)
                break
        with self._posting:
            pass

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=DELIVERY_TIMEOUT + 1)
        self._http.close()

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            try:
                if delivery is None:
                    return
                with self._posting:
                    if self._current(delivery):
                        self._post(delivery)
            finally:
                self._queue.task_done()

    def _post(self, delivery: Delivery) -> None:
        attempt: dict[str, Any] = {"status": None, "error": None}
        try:
            response = self._http.post(
                delivery.url, content=delivery.body, headers=delivery.headers
            )
            attempt["status"] = response.status_code
            delivered = 200 <= response.status_code < 300
        except httpx.HTTPError as error:
            attempt["error"] = type(error).__name__
            delivered = False
        retry = not delivered and delivery.retries_left > 0
        self._record(delivery, attempt, not retry)
        if retry:
            delivery.retries_left -= 1
            self._retry(delivery.retry_delay, delivery)
        elif not delivered:
            logger.warning("hubsim: gave up on %s to %s", delivery.event, delivery.partner_id)
