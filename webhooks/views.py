"""The partner webhook endpoint: a plain view that stores, answers, and leaves the work to a
worker. 404 for an unknown token, 411 without a Content-Length, 413 for a body over the cap,
400 for an empty one, 401 for a missing or bad signature when the partner has a platform
secret, 200 for everything stored (and duplicates)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dialog360.signatures import WEBHOOK_SIGNATURE_HEADER, verify_webhook
from portal.metrics import observe_webhook
from webhooks.partners import webhook_partner
from webhooks.services import webhook_receive, webhook_rejection_record


@csrf_exempt
@require_POST
@observe_webhook
def receive(request: HttpRequest, token: str) -> HttpResponse:
    partner = webhook_partner(token)
    if partner is None:
        return _error(404, "unknown webhook URL")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if not declared.isdigit():
        # Chunked or unknown length: the WSGI server would hand us an empty body.
        return _error(411, "Content-Length is required")
    if int(declared) > settings.WEBHOOK_MAX_BODY_BYTES:
        return _error(413, f"body over {settings.WEBHOOK_MAX_BODY_BYTES} bytes")
    body = request.read(int(declared))
    if not body:
        return _error(400, "empty body")
    if partner.platform_secret:
        signature = request.headers.get(WEBHOOK_SIGNATURE_HEADER)
        if not verify_webhook(body, signature, [partner.platform_secret]):
            reason = "missing signature" if not signature else "bad signature"
            webhook_rejection_record(partner=partner, reason=reason)
            return _error(401, reason)
    received = webhook_receive(partner=partner, body=body, headers=dict(request.headers))
    return JsonResponse({"status": received.status, "duplicate": received.duplicate})


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
