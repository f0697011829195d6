"""The portal's URLs plus a no-op POST: the cheapest request Django's full middleware stack can
answer, the baseline the webhook path is measured against in the same run."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from portal.urls import urlpatterns as portal_urlpatterns


@csrf_exempt
def noop(request: HttpRequest) -> HttpResponse:
    request.body  # noqa: B018 - read it, as the webhook view does
    return HttpResponse(b'{"status": "ok"}', content_type="application/json")


urlpatterns = [path("bench/noop/", noop), *portal_urlpatterns]
