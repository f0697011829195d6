"""The partner webhook endpoint: a plain view that stores, answers, and leaves the work to a
worker. 404 for an unknown token, 413 for a body over the cap, 401 for a missing or bad
signature when the partner has a platform secret, 200 for everything stored (and duplicates)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dialog360.signatures import WEBHOOK_SIGNATURE_HEADER, verify_webhook
from portal.selectors import partner_for_webhook_token
from webhooks.services import webhook_receive, webhook_rejection_record


@csrf_exempt
@require_POST
def receive(request: HttpRequest, token: str) -> HttpResponse:
    partner = partner_for_webhook_token(token)
    if partner is None:
        return _error(404, "unknown webhook URL")
    body = _body(request, settings.WEBHOOK_MAX_BODY_BYTES)
    if body is None:
        return _error(413, f"body over {settings.WEBHOOK_MAX_BODY_BYTES} bytes")
    if partner.platform_secret:
        signature = request.headers.get(WEBHOOK_SIGNATURE_HEADER)
        if not verify_webhook(body, signature, [partner.platform_secret]):
            reason = "missing signature" if not signature else "bad signature"
            webhook_rejection_record(partner=partner, reason=reason)
            return _error(401, reason)
    received = webhook_receive(partner=partner, body=body, headers=dict(request.headers))
    return JsonResponse({"status": received.status, "duplicate": received.duplicate})


def _body(request: HttpRequest, limit: int) -> bytes | None:
    """The raw body, or None when it is over `limit` (refused before reading it all)."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
