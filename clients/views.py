"""The end client's pages: signup, the onboarding page (popup launcher and live status), the
launch redirect, the return from 360Dialog, and the status JSON the page polls."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    HttpResponseServerError,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from clients.forms import SignupForm
from clients.models import Onboarding
from clients.onboarding import (
    ReturnError,
    onboarding_launch,
    onboarding_return,
    onboarding_return_unverified,
    onboarding_start,
)
from clients.phones import LANGUAGE_REGIONS, phone_display
from clients.selectors import (
    invite_get_valid,
    onboarding_get,
    onboarding_progress,
    onboarding_resumable,
)
from clients.services import onboarding_details_update
from dialog360.redirect import RedirectError, parse_redirect
from portal.client_ip import client_ip
from portal.entry import partner_view
from portal.models import Partner
from portal.ratelimit import rate_limit_exceeded
from portal.selectors import partner_get_active

LANGS = {code for code, _ in settings.LANGUAGES}
logger = logging.getLogger(__name__)


def opener_policy(
    policy: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Cross-Origin-Opener-Policy for pages that take part in the popup: the opening page
    keeps its popup (`same-origin-allow-popups`); what loads inside the popup (the launch
    redirect, the return page after 360Dialog's cross-origin pages) must not cut the popup off
    from its opener (`unsafe-none`; Chromium applies COOP to redirects too)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            response = view(request, *args, **kwargs)
            response["Cross-Origin-Opener-Policy"] = policy
            return response

        return wrapper

    return decorate


opens_popups = opener_policy("same-origin-allow-popups")
in_popup = opener_policy("unsafe-none")


def throttled(
    name: str, *, methods: tuple[str, ...] = ("GET", "POST")
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Per-address and per-partner limits (settings.RATE_LIMITS, `name`_ip / `name`_partner)
    on a public view taking `partner`: over one, 429 with Retry-After and a page (or JSON)
    that says when to try again."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(
            request: HttpRequest, *args: Any, partner: Partner, **kwargs: Any
        ) -> HttpResponse:
            if request.method in methods:
                wait = rate_limit_exceeded(
                    name=name, address=client_ip(request), partner_id=partner.pk
                )
                if wait is not None:
                    return _too_many_requests(request, partner, wait, json=name == "status")
            return view(request, *args, partner=partner, **kwargs)

        return wrapper

    return decorate


def _language(request: HttpRequest, partner: Partner, preferred: str = "") -> str:
    """?lang= first, then the onboarding's, then the browser's, then the partner's default."""
    for candidate in (request.GET.get("lang", ""), preferred):
        if candidate in LANGS:
            return candidate
    browser = translation.get_language_from_request(request)
    if request.headers.get("Accept-Language") and browser in LANGS:
        return browser
    return partner.default_lang if partner.default_lang in LANGS else settings.LANGUAGE_CODE


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], lang: str, status: int = 200
) -> HttpResponse:
    with translation.override(lang):
        response = render(request, template, {**context, "lang": lang}, status=status)
    response["Content-Language"] = lang
    return response


@require_http_methods(["GET", "POST"])
@partner_view
@throttled("signup", methods=("POST",))
@opens_popups
def signup(request: HttpRequest, partner: Partner) -> HttpResponse:
    """The partner's branded signup page. Every post ends in a redirect (post/redirect/get):
    a form with errors comes back from the session, so Back and reload never resubmit; a
    second signup from the same browser with the same e-mail address, while the first is
    still open, goes on with the first."""
    lang = _language(request, partner, request.POST.get("lang", ""))
    invite_token = request.POST.get("invite") or request.GET.get("invite")
    invite = invite_get_valid(invite_token)
    if request.method == "POST":
        with translation.override(lang):
            form = SignupForm(request.POST, region=LANGUAGE_REGIONS.get(lang))
            valid = form.is_valid()
        if not valid:
            request.session[SESSION_SIGNUP_FORM] = {
                "data": {
                    name: request.POST.get(name, "").replace("\x00", "")
                    for name in SignupForm.base_fields
                },
                "errors": {name: [str(e) for e in errors] for name, errors in form.errors.items()},
            }
            query = urlencode({"lang": lang, **({"invite": invite_token} if invite else {})})
            return HttpResponseRedirect(f"{request.path}?{query}")
        onboarding = onboarding_resumable(
            known=request.session.get(SESSION_ONBOARDINGS, []), email=form.cleaned_data["email"]
        )
        if onboarding is not None:
            onboarding_details_update(
                onboarding=onboarding,
                contact_name=form.cleaned_data["contact_name"],
                phone_number=form.cleaned_data["phone_number"],
            )
        else:
            onboarding = onboarding_start(
                partner=partner,
                email=form.cleaned_data["email"],
                contact_name=form.cleaned_data["contact_name"],
                phone_number=form.cleaned_data["phone_number"],
                lang=lang,
                invite=invite,
            )
        _remember(request, onboarding)
        return HttpResponseRedirect(_onboarding_url(partner, onboarding))
    if (returned := request.session.pop(SESSION_SIGNUP_FORM, None)) is not None:
        with translation.override(lang):
            form = SignupForm(returned["data"], region=LANGUAGE_REGIONS.get(lang))
            form.is_valid()
            for name, messages in returned["errors"].items():
                if name not in form.errors:
                    for message in messages:
                        form.add_error(name if name in form.fields else None, message)
        # Focus goes to the first field to correct.
        first = next((name for name in form.fields if name in form.errors), None)
        if first is not None:
            form.fields[first].widget.attrs["autofocus"] = True
    else:
        initial = {"invite": invite_token} if invite else {}
        if invite:
            initial |= {
                "email": invite.email,
                "contact_name": invite.contact_name,
                # As the help text shows it (+49 151 ...), not as it is stored.
                "phone_number": phone_display(invite.phone_number),
            }
        form = SignupForm(initial=initial)
    return _render(request, "clients/signup.html", {"partner": partner, "form": form}, lang)


@require_GET
@never_cache
@partner_view
@opens_popups
def onboarding_page(request: HttpRequest, partner: Partner, public_id: UUID) -> HttpResponse:
    """'Connect WhatsApp' and, once started, the live status of each number."""
    onboarding = onboarding_get(public_id)
    if onboarding is None or not _knows(request, onboarding):
        return _not_this_browser(request, partner)
    lang = _language(request, partner, onboarding.lang)
    with translation.override(lang):
        progress = onboarding_progress(onboarding)
    base = _onboarding_url(partner, onboarding)
    context = {
        "partner": partner,
        "onboarding": onboarding,
        "progress": progress,
        "launch_url": f"{base}launch/",
        "status_url": f"{base}status.json",
        "origin": settings.PUBLIC_BASE_URL,
        "poll": settings.STATUS_POLL_SECONDS,
        "signup_url": reverse("clients:signup", args=[partner.slug]),
    }
    response = _render(request, "clients/onboarding.html", context, lang)
    # The launch form's answer redirects to the hub: Chromium applies form-action to it.
    response._csp_update = {"form-action": [_origin_of(partner.hub_url)]}  # type: ignore[attr-defined]
    return response


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@require_POST  # it changes state: posted by the onboarding page's form (CSRF), never a link
@never_cache
@partner_view
@throttled("launch")
@in_popup
def launch(request: HttpRequest, partner: Partner, public_id: UUID) -> HttpResponse:
    """Mint this launch's token (and IO signature) and go to 360Dialog."""
    onboarding = _onboarding(request, public_id)
    try:
        hub_url = onboarding_launch(onboarding=onboarding)
    except ReturnError as error:
        return _error(request, partner, error.message, onboarding.lang)
    return HttpResponseRedirect(hub_url)


@require_GET
@never_cache
@partner_view
@throttled("status")
def status(request: HttpRequest, partner: Partner, public_id: UUID) -> JsonResponse:
    onboarding = _onboarding(request, public_id)
    with translation.override(_language(request, partner, onboarding.lang)):
        return JsonResponse(onboarding_progress(onboarding))


@require_GET
@never_cache
@partner_view
@throttled("return")
@in_popup
def return_view(request: HttpRequest, partner: Partner, token: str = "") -> HttpResponse:
    """360Dialog sends the popup here. With our token: the onboarding it belongs to. Without
    (a direct link, the hub's global redirect URL): an unverified one, checked with the
    Partner API. Then tell the opener and close, or show the status page.

    The first return may come from any browser (the token, or the parameters, are what it
    shows); after that, only a browser that started or came back to the onboarding may open
    the URL again: it is not a link to the status page for whoever else gets hold of it."""
    arrived = timezone.now()
    try:
        parsed = parse_redirect(request.META.get("QUERY_STRING", ""))
        if token:
            onboarding = onboarding_return(partner=partner, token=token, redirect=parsed)
        else:
            onboarding = onboarding_return_unverified(partner=partner, redirect=parsed)
    except RedirectError as error:
        logger.info("unreadable return", extra={"problem": str(error)})
        return _error(request, partner, _("360Dialog's answer could not be read."))
    except ReturnError as error:
        return _error(request, partner, error.message)
    returned_before = onboarding.returned_at is not None and onboarding.returned_at < arrived
    if returned_before and not _knows(request, onboarding):
        return _error(request, partner, _("This link was already used."), onboarding.lang)
    _remember(request, onboarding)
    context = {
        "partner": partner,
        "onboarding": onboarding,
        "status_page": _onboarding_url(partner, onboarding),
        "origin": settings.PUBLIC_BASE_URL,
    }
    return _render(
        request, "clients/return.html", context, _language(request, partner, onboarding.lang)
    )


SESSION_ONBOARDINGS = "onboardings"
SESSION_SIGNUP_FORM = "signup_form"  # a posted form with errors, shown once by the next GET


def _remember(request: HttpRequest, onboarding: Onboarding) -> None:
    """This browser started (or came back to) the onboarding: it may follow it. Its id alone,
    which also travels to 360Dialog, is not enough to see the numbers."""
    known: list[str] = request.session.get(SESSION_ONBOARDINGS, [])
    if str(onboarding.public_id) not in known:
        request.session[SESSION_ONBOARDINGS] = [*known[-19:], str(onboarding.public_id)]


def _knows(request: HttpRequest, onboarding: Onboarding) -> bool:
    return str(onboarding.public_id) in request.session.get(SESSION_ONBOARDINGS, [])


def _onboarding(request: HttpRequest, public_id: UUID) -> Onboarding:
    onboarding = onboarding_get(public_id)
    if onboarding is None or not _knows(request, onboarding):
        raise Http404("No such onboarding.")
    return onboarding


def _not_this_browser(request: HttpRequest, partner: Partner) -> HttpResponse:
    """Another device or browser (or an unknown id: the same answer, so ids cannot be probed)
    opened a status page: say why it does not show, and the way on."""
    with translation.override(_language(request, partner)):
        context = {
            "partner": partner,
            "title": _("This page opens only where you signed up"),
            "message": _(
                "To keep your details safe, the status of a signup shows only in the browser "
                "where it was started. You get an e-mail when your number is ready. On this "
                "device you can start again: if your number is already connected, the new "
                "signup tells you so."
            ),
            "signup_url": reverse("clients:signup", args=[partner.slug]),
        }
    return _render(request, "404.html", context, _language(request, partner), status=404)


def _partner_of_path(path: str) -> Partner | None:
    """The partner whose pages the address is under (/p/<slug>/...), if any."""
    parts = path.split("/")
    return partner_get_active(slug=parts[2]) if len(parts) > 2 and parts[1] == "p" else None


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The portal's 404 page, branded when the address names one of the partners' pages."""
    partner = _partner_of_path(request.path)
    context: dict[str, Any] = {"partner": partner}
    if partner is not None:
        context["signup_url"] = reverse("clients:signup", args=[partner.slug])
        lang = _language(request, partner)
    else:
        lang = settings.LANGUAGE_CODE
    return _render(request, "404.html", context, lang, status=404)


SERVER_ERROR_FALLBACK = (
    '<!doctype html><html lang="en"><title>Server error</title>'
    "<h1>Server error</h1><p>Please try again in a few minutes.</p></html>"
)


def server_error(request: HttpRequest) -> HttpResponse:
    """The portal's 500 page, branded and in the client's language under a partner's address.
    It never raises: the error may have come from the database or the templates, so a page
    that cannot be branded is the plain one, and one that cannot be rendered is fixed text.
    Rendered without the request (no context processors, no session)."""
    try:
        partner = _partner_of_path(request.path)
        lang = _language(request, partner) if partner is not None else settings.LANGUAGE_CODE
        with translation.override(lang):
            body = render_to_string("500.html", {"partner": partner, "lang": lang})
        response = HttpResponseServerError(body)
        response["Content-Language"] = lang
        return response
    except Exception:
        logger.warning("the branded server error page failed", exc_info=True)
    try:
        return HttpResponseServerError(render_to_string("500.html"))
    except Exception:
        logger.warning("the server error page failed", exc_info=True)
    return HttpResponseServerError(SERVER_ERROR_FALLBACK)


def _onboarding_url(partner: Partner, onboarding: Onboarding) -> str:
    return reverse(
        "clients:onboarding",
        kwargs={"partner_slug": partner.slug, "public_id": onboarding.public_id},
    )


def _too_many_requests(
    request: HttpRequest, partner: Partner, wait: int, *, json: bool
) -> HttpResponse:
    response: HttpResponse
    if json:
        response = JsonResponse({"error": "too many requests", "retry_after": wait}, status=429)
    else:
        with translation.override(_language(request, partner)):
            message = _(
                "Too many requests from your connection. Please try again in %(seconds)s seconds."
            ) % {"seconds": wait}
        response = _error(request, partner, message, status=429)
    response["Retry-After"] = str(wait)
    return response


def _error(
    request: HttpRequest, partner: Partner, message: object, lang: str = "", status: int = 400
) -> HttpResponse:
    context = {
        "partner": partner,
        "message": message,
        "signup_url": reverse("clients:signup", args=[partner.slug]),
    }
    return _render(
        request, "clients/error.html", context, _language(request, partner, lang), status=status
    )
