"""The Partner API's rules: authentication, scripted errors, clients and channels (filters,
paging, sort), shared numbers, channel API keys, the webhook URL."""

from __future__ import annotations

import json
import secrets
import string
from typing import Any, Literal

from hubsim.state import (
    ALNUM,
    ApiKey,
    HubError,
    HubState,
    Partner,
    absolute_http,
    utc_now,
)

MAX_PAGE = 100


class PartnerApi(HubState):
    def api_authenticate(self, partner_id: str, api_key: str | None) -> Partner:
        with self.lock:
            partner = self.partners.get(partner_id)
            if (
                partner is None
                or not api_key
                or not secrets.compare_digest(api_key.encode(), partner.api_key.encode())
            ):
                raise HubError(401, "Invalid API key for this partner")
            return partner

    def api_fault(self, operation: str) -> int | None:
        """The next scripted error status for this operation, if any (consumed)."""
        with self.lock:
            self.api_calls.append({"operation": operation})
            faults = self.faults
            if faults.api_errors and faults.api_errors_for in (None, operation):
                return faults.api_errors.pop(0)
            return None

    def api_list(
        self, partner_id: str, kind: Literal["clients", "channels"], query: dict[str, str]
    ) -> dict[str, Any]:
        filters = _json_query(query.get("filters"), "filters")
        if not isinstance(filters, dict):
            raise HubError(400, "filters must be a JSON object")
        with self.lock:
            found = self.clients if kind == "clients" else self.channels
            # A filter on the id (how one channel is fetched) needs no pass over all of them.
            wanted = found.get(filters["id"]) if isinstance(filters.get("id"), str) else None
            candidates = [wanted] if wanted else [] if "id" in filters else found.values()
            rows: list[dict[str, Any]] = [
                item.as_json() for item in candidates if item.partner_id == partner_id
            ]
        rows = [row for row in rows if all(row.get(k) == v for k, v in filters.items())]
        sort = query.get("sort") or "-created_at"
        key = sort.lstrip("-")
        if key not in ("created_at", "id", "status", "name"):
            raise HubError(400, f"cannot sort by {key}")
        rows.sort(key=lambda row: str(row.get(key) or ""), reverse=sort.startswith("-"))
        limit = _int_query(query.get("limit"), "limit", 20)
        offset = _int_query(query.get("offset"), "offset", 0)
        limit = min(max(limit, 1), MAX_PAGE)
        page = rows[offset : offset + limit]
        return {
            "count": len(page),
            "filters": filters,
            "sort": [sort],
            "limit": limit,
            "offset": offset,
            "total": len(rows),
            ("clients" if kind == "clients" else "partner_channels"): page,
        }

    def api_shared_numbers(self, partner_id: str, client_id: str) -> dict[str, Any]:
        with self.lock:
            client = self.clients.get(client_id)
            if client is None or client.partner_id != partner_id:
                raise HubError(404, "Client not found")
            partner = self._partner(partner_id)
            shared = [
                {"channel_id": channel.id, "phone_number": channel.phone_number}
                for channel in self._channels_of(client)
                if partner.payment_mode == "partner" or channel.permission
            ]
            return {"shared_client_numbers": shared}

    def api_key_create(self, partner_id: str, channel_id: str) -> dict[str, Any]:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            partner = self._partner(partner_id)
            if channel.status not in ("running", "live"):
                raise HubError(
                    400, "Channel is not in running state", [f"status: {channel.status}"]
                )
            if partner.payment_mode == "direct" and not channel.permission:
                raise HubError(403, "Partner has no permission to manage this channel")
            now = utc_now()
            for key in channel.keys:
                key.revoked_at = key.revoked_at or now
            self._key_serial += 1
            key = ApiKey(
                id=str(self._key_serial),
                value="".join(secrets.choice(ALNUM) for _ in range(32)),
                app_id="".join(secrets.choice(string.digits) for _ in range(6)),
                created_at=now,
            )
            channel.keys.append(key)
            self._changed()
            body = key.as_json(with_value=True)
            if self.faults.api_key_shape == "list":
                return {"api_keys": [body]}
            return body

    def api_keys_list(self, partner_id: str, channel_id: str) -> dict[str, Any]:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            current = [key.as_json(with_value=False) for key in channel.keys if not key.revoked_at]
            return {"api_keys": current}

    def api_key_delete(self, partner_id: str, channel_id: str, key_id: str) -> None:
        with self.lock:
            channel = self._partner_channel(partner_id, channel_id)
            key = next((k for k in channel.keys if k.id == key_id and not k.revoked_at), None)
            if key is None:
                raise HubError(404, "API key not found")
            key.revoked_at = utc_now()
            self._changed()

    def api_webhook_url_set(self, partner_id: str, url: object) -> dict[str, Any]:
        if not isinstance(url, str) or not absolute_http(url):
            raise HubError(400, "webhook_url must be an absolute http(s) URL")
        with self.lock:
            self._partner(partner_id).webhook_url = url
            self._changed()
            return {"webhook_url": url}


def _json_query(raw: str | None, name: str) -> Any:
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise HubError(400, f"{name} is not valid JSON") from None


def _int_query(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise HubError(400, f"{name} must be a whole number")
    return int(raw)
