"""Sending one signed request to a partner's URL, safely.

The host is resolved here and every address it resolves to is checked before connecting; the
request then goes to the checked address (TLS still verifies the host name). So a name that
resolves to a loopback, private, link-local or cloud-metadata address is refused at connect
time, not only when the URL was saved. No redirects are followed; the answer is read up to a cap.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings

RESPONSE_READ_CAP = 4096
TIMEOUT_SECONDS = 10.0


class RefusedURLError(Exception):
    """A URL we will not send to (scheme, or an address it resolves to)."""


@dataclass(frozen=True)
class Answer:
    status: int | None
    excerpt: str
    duration_ms: int
    retry_after: float | None
    error: str = ""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n) for n in settings.OUTBOUND_ALLOWED_NETWORKS]


def address_refused(address: str) -> bool:
    """Loopback, private, link-local (cloud metadata), multicast, reserved or unspecified,
    unless OUTBOUND_ALLOWED_NETWORKS lets it through (development and tests)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in _allowed_networks()):
        return False
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def url_check(url: str) -> None:
    """Raises RefusedURLError for a scheme we do not send to."""
    parts = urlsplit(url)
    allowed = ("https", "http") if settings.OUTBOUND_ALLOW_HTTP else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        raise RefusedURLError("Endpoints must use https://.")


def resolve_checked(url: str) -> str:
    """An address the URL's host resolves to, checked. Raises RefusedURLError."""
    url_check(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise RefusedURLError(f"cannot resolve {host}: {error}") from None
    addresses = [str(info[4][0]) for info in infos]
    refused = [a for a in addresses if address_refused(a)]
    if refused or not addresses:
        raise RefusedURLError(
            f"{host} resolves to an address we do not send to ({refused[0] if refused else 'none'})"
        )
    return addresses[0]


def post(url: str, body: bytes, headers: dict[str, str]) -> Answer:
    """POST once; never raises for the network or the answer (they are in the Answer)."""
    started = time.monotonic()
    try:
        address = resolve_checked(url)
    except RefusedURLError as error:
        return Answer(None, "", 0, None, error=str(error))
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc_ip = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc_ip += f":{parts.port}"
    target = urlunsplit((parts.scheme, netloc_ip, parts.path or "/", parts.query, ""))
    request_headers = {
        **headers,
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "Content-Type": "application/json",
        "User-Agent": "partner-portal-webhooks/1",
    }
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
            request = client.build_request(
                "POST",
                target,
                content=body,
                headers=request_headers,
                extensions={"sni_hostname": host},
            )
            response = client.send(request, stream=True)
            try:
                excerpt = b""
                for chunk in response.iter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_READ_CAP:
                        break
            finally:
                response.close()
            return Answer(
                response.status_code,
                excerpt[:RESPONSE_READ_CAP].decode("utf-8", "replace"),
                int((time.monotonic() - started) * 1000),
                retry_after_seconds(response.headers.get("Retry-After")),
            )
    except httpx.HTTPError as error:
        return Answer(
            None,
            "",
            int((time.monotonic() - started) * 1000),
            None,
            error=f"{type(error).__name__}: {error}"[:500],
        )


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait, from either form of Retry-After (RFC 9110): a number of seconds or an
    HTTP date; None for anything else."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": a time in UTC, per RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
