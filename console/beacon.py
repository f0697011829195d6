"""POST /events/page/: the client's pages report their own events (static/portal/page-events.js).

No session or CSRF cookie is involved: the request must carry the page's signed token
(clients.page_events), which only a rendering of our page hands out, and a browser's
same-origin marks where it sends them (Origin, Sec-Fetch-Site); it is rate-limited like the
other public endpoints. Answers 204, also for a report it does not take (nothing to tell the
page), 400 for a missing or altered token, 403 from another site, 429 over a limit."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from clients.page_events import page_events_token_read
from console.page_events import page_event_record
from portal.client_ip import client_ip
from portal.ratelimit import rate_limit_exceeded


@csrf_exempt  # the signed page token stands in for the CSRF token (see above)
@require_POST
def page_event(request: HttpRequest) -> HttpResponse:
    if not _same_origin(request):
        return HttpResponse(status=403)
    page = page_events_token_read(request.POST.get("token", ""))
    if page is None:
        return HttpResponse(status=400)
    wait = rate_limit_exceeded(
        name="beacon", address=client_ip(request) or "", partner_id=page.partner_id
    )
    if wait is not None:
        return HttpResponse(status=429, headers={"Retry-After": str(wait)})
    page_event_record(page=page, kind=request.POST.get("kind", "")[:32])
    return HttpResponse(status=204)


def _same_origin(request: HttpRequest) -> bool:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site != "same-origin":
        return False
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.get_host()}"
