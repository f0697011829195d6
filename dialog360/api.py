"""PartnerApiClient: the 360Dialog Partner API (v2) over httpx.

One method per call the portal makes. Every call is bounded by connect/read timeouts and raises
a typed error (dialog360.errors): RetryableError for 429 (with its Retry-After), 5xx and transport
failures; FinalError for every other 4xx (with 360Dialog's ``meta`` message) and for answers that
are not the documented shape. Retrying is the caller's business (Celery's backoff), not the
client's. The Partner API key is sent only in the ``X-API-Key`` header and never appears in a
repr, log line or exception text; a created channel key is hidden from repr too.
"""

from __future__ import annotations

import email.utils
import functools
import json
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

from dialog360.errors import (
    FinalError,
    InvalidResponseError,
    NotFoundError,
    PartnerApiError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from dialog360.ids import require_id, require_key_id, require_partner_id
from dialog360.objects import (
    ChannelInfo,
    ClientInfo,
    PayloadError,
    as_object,
    as_text,
    parse_channel,
    parse_client,
    phone_digits,
)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_PAGE_SIZE = 100
MAX_RETRY_AFTER = 3600.0
USER_AGENT = "partner-portal-dialog360/1"

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class CreatedApiKey:
    """A channel key as created; `api_key` is shown this once and must be stored encrypted."""

    id: str
    api_key: str = field(repr=False)
    address: str = ""
    app_id: str = ""


@dataclass(frozen=True)
class ApiKeyInfo:
    id: str
    address: str = ""
    app_id: str = ""


@dataclass(frozen=True)
class SharedNumbers:
    """The channels of a client that the partner may manage (Direct Payment permission)."""

    channel_ids: frozenset[str]
    phone_numbers: frozenset[str]

    def includes(self, *, channel_id: str, phone_number: str = "") -> bool:
        digits = phone_digits(phone_number)
        return channel_id in self.channel_ids or (
            bool(digits) and digits in {phone_digits(number) for number in self.phone_numbers}
        )


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process, shared by every client: making one (reading the CA bundle)
    took more time than a Partner API call to a nearby server. Shared contexts are thread-safe."""
    return httpx.create_ssl_context()


class PartnerApiClient:
    def __init__(
        self,
        *,
        base_url: str,
        partner_id: str,
        api_key: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        observe: Callable[[str, str, float, str], None] | None = None,
    ) -> None:
        """`observe(operation, outcome, seconds, error)` is told of every call: the outcome is
        the HTTP status, "timeout" or "transport"; the error is the raised error's text (never
        a key or a body), "" for a success (metrics, call records)."""
        if not api_key:
            raise ValueError("the Partner API needs the partner's API key")
        self.partner_id = require_partner_id(partner_id)
        self.base_url = base_url.rstrip("/")
        self._observe = observe
        self._http = httpx.Client(
            base_url=f"{self.base_url}/partners/{partner_id}",
            headers={"X-API-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            verify=_tls(),
        )

    def __repr__(self) -> str:
        return f"PartnerApiClient(base_url={self.base_url!r}, partner_id={self.partner_id!r})"

    def __enter__(self) -> PartnerApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # Clients and channels

    def clients_page(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
    ) -> Page[ClientInfo]:
        return self._page(
            "list_clients", "/clients", "clients", parse_client, filters, sort, limit, offset
        )

    def channels_page(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_PAGE_SIZE,
        offset: int = 0,
    ) -> Page[ChannelInfo]:
        return self._page(
            "list_channels",
            "/channels",
            "partner_channels",
            parse_channel,
            filters,
            sort,
            limit,
            offset,
        )

    def iter_clients(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[ClientInfo]:
        """Every client matching `filters`, page after page."""
        return _all_pages(
            lambda offset: self.clients_page(
                filters=filters, sort=sort, limit=page_size, offset=offset
            )
        )

    def iter_channels(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        sort: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> Iterator[ChannelInfo]:
        """Every channel matching `filters`, page after page."""
        return _all_pages(
            lambda offset: self.channels_page(
                filters=filters, sort=sort, limit=page_size, offset=offset
            )
        )

    def get_channel(self, channel_id: str) -> ChannelInfo:
        require_id(channel_id, "channel_id")
        page = self.channels_page(filters={"id": channel_id}, limit=1)
        for channel in page.items:
            if channel.id == channel_id:
                return channel
        raise NotFoundError(
            f"channel {channel_id} not found", operation="get_channel", status_code=None
        )

    def shared_numbers(self, client_id: str) -> SharedNumbers:
        """Which of the client's channels the partner may manage. 360Dialog does not document
        the answer's shape: a list, or an object holding one, of ids, numbers or objects with
        ``id``/``channel_id`` and ``phone_number`` are all read."""
        operation = "shared_client_numbers"
        path = f"/clients/{require_id(client_id, 'client_id')}/shared_client_numbers"
        body = self._json(operation, self._send(operation, "GET", path))
        return _shared_numbers(body, operation)

    # Channel API keys

    def create_api_key(self, channel_id: str) -> CreatedApiKey:
        """Create the channel's API key. 360Dialog revokes every earlier key of the channel."""
        operation = "create_api_key"
        path = f"/channels/{require_id(channel_id, 'channel_id')}/api_keys"
        body = self._json(operation, self._send(operation, "POST", path))
        try:
            obj = as_object(body, "response")
            keys = obj.get("api_keys")
            if keys is not None:  # the older shape: {"api_keys": [{...}]}
                if not isinstance(keys, list) or len(keys) != 1:
                    raise PayloadError("api_keys must hold exactly one key")
                obj = as_object(keys[0], "api_keys[0]")
            key = obj.get("api_key")
            if not isinstance(key, str) or not key:
                raise PayloadError("api_key is missing")
            return CreatedApiKey(
                id=_key_id(obj.get("id")),
                api_key=key,
                address=as_text(obj.get("address"), "address"),
                app_id=as_text(obj.get("app_id"), "app_id"),
            )
        except PayloadError as error:
            # The body holds a key: name what was wrong, never quote it.
            raise InvalidResponseError(str(error), operation=operation, status_code=None) from None

    def list_api_keys(self, channel_id: str) -> list[ApiKeyInfo]:
        operation = "list_api_keys"
        path = f"/channels/{require_id(channel_id, 'channel_id')}/api_keys"
        body = self._json(operation, self._send(operation, "GET", path))
        try:
            items = body.get("api_keys") if isinstance(body, dict) else body
            if not isinstance(items, list):
                raise PayloadError("api_keys must be a list")
            return [
                ApiKeyInfo(
                    id=_key_id(as_object(item, "api_keys[]").get("id")),
                    address=as_text(item.get("address"), "address"),
                    app_id=as_text(item.get("app_id"), "app_id"),
                )
                for item in items
            ]
        except PayloadError as error:
            raise InvalidResponseError(str(error), operation=operation) from None

    # Plumbing

    def _page(
        self,
        operation: str,
        path: str,
        key: str,
        parse: Callable[[object, str], T],
        filters: Mapping[str, Any] | None,
        sort: str | None,
        limit: int,
        offset: int,
    ) -> Page[T]:
        if limit < 1 or offset < 0:
            raise ValueError("limit must be positive and offset not negative")
        params: dict[str, str | int] = {"limit": limit, "offset": offset}
        if filters:
            params["filters"] = json.dumps(dict(filters), separators=(",", ":"), sort_keys=True)
        if sort:
            params["sort"] = sort
        body = self._json(operation, self._send(operation, "GET", path, params=params))
        try:
            obj = as_object(body, "response")
            items = obj.get(key)
            if not isinstance(items, list):
                raise PayloadError(f"{key} must be a list")
            parsed = tuple(parse(item, f"{key}[{index}]") for index, item in enumerate(items))
            total = obj.get("total", len(items))
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise PayloadError("total must be a whole number")
        except PayloadError as error:
            raise InvalidResponseError(str(error), operation=operation) from None
        return Page(items=parsed, total=total, offset=offset, limit=limit)

    def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started, outcome, problem = time.monotonic(), "transport", ""
        try:
            response = self._http.request(method, path, **kwargs)
            outcome = str(response.status_code)
            _raise_for_status(operation, response)
        except httpx.TimeoutException as error:
            outcome, problem = "timeout", f"timed out ({type(error).__name__})"
            raise TransportError(problem, operation=operation) from None
        except httpx.RequestError as error:  # connection, protocol, decoding
            problem = f"transport failed ({type(error).__name__})"
            raise TransportError(problem, operation=operation) from None
        except PartnerApiError as error:
            problem = str(error).removeprefix(f"{operation}: ")
            raise
        finally:
            if self._observe is not None:
                self._observe(operation, outcome, time.monotonic() - started, problem)
        return response

    @staticmethod
    def _json(operation: str, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise InvalidResponseError(
                f"HTTP {response.status_code} answer is not JSON",
                operation=operation,
                status_code=response.status_code,
            ) from None


def _raise_for_status(operation: str, response: httpx.Response) -> None:
    status = response.status_code
    if status < 300:
        return
    developer_message, details = _meta(response)
    text = f"HTTP {status}" + (f": {developer_message}" if developer_message else "")
    if details:
        text += f" ({'; '.join(details)})"
    if status == 429:
        raise RateLimitedError(
            text, operation=operation, status_code=status, retry_after=_retry_after(response)
        )
    if status >= 500:
        raise ServerError(
            text, operation=operation, status_code=status, retry_after=_retry_after(response)
        )
    error_class: type[FinalError] = FinalError
    if status in (401, 403):
        error_class = UnauthorizedError
    elif status == 404:
        error_class = NotFoundError
    raise error_class(
        text,
        operation=operation,
        status_code=status,
        developer_message=developer_message,
        details=details,
    )


def _meta(response: httpx.Response) -> tuple[str, tuple[str, ...]]:
    """360Dialog's ``{"meta": {"developer_message": ..., "details": [...]}}``, if present."""
    try:
        meta = response.json().get("meta")
        message = meta.get("developer_message") or ""
        details = meta.get("details") or []
    except (ValueError, AttributeError):
        return "", ()
    if not isinstance(message, str) or not isinstance(details, list):
        return "", ()
    return message[:500], tuple(str(item)[:200] for item in details[:10])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        seconds = when.timestamp() - time.time()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _all_pages(fetch: Callable[[int], Page[T]]) -> Iterator[T]:
    seen: set[str] = set()
    offset = 0
    while True:
        page = fetch(offset)
        for item in page.items:
            identifier = getattr(item, "id", None)
            if identifier in seen:  # rows shifted between pages
                continue
            seen.add(str(identifier))
            yield item
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return


def _key_id(value: object) -> str:
    try:
        return require_key_id(value, "id")
    except ValueError as error:
        raise PayloadError(str(error)) from None


def _shared_numbers(body: object, operation: str) -> SharedNumbers:
    items: object = body
    if isinstance(body, dict):
        for key in ("shared_client_numbers", "numbers", "channels", "partner_channels", "data"):
            if key in body:
                items = body[key]
                break
    if not isinstance(items, list):
        raise InvalidResponseError("the answer holds no list of numbers", operation=operation)
    channel_ids: set[str] = set()
    numbers: set[str] = set()
    for item in items:
        if isinstance(item, str):
            (numbers if item.lstrip("+").isdigit() else channel_ids).add(item.lstrip("+"))
        elif isinstance(item, dict):
            for key in ("channel_id", "id"):
                if isinstance(item.get(key), str):
                    channel_ids.add(item[key])
            number = item.get("phone_number") or item.get("number")
            if isinstance(number, str | int):
                numbers.add(str(number).lstrip("+"))
        else:
            raise InvalidResponseError(
                "a shared number is neither a string nor an object", operation=operation
            )
    return SharedNumbers(frozenset(channel_ids), frozenset(numbers))


__all__ = [
    "ApiKeyInfo",
    "CreatedApiKey",
    "Page",
    "PartnerApiClient",
    "PartnerApiError",
    "SharedNumbers",
]
