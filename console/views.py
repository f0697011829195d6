"""The console's pages inside the admin: the home page, the confirmation pages of the audited
actions, and revealing a key. Thin: check access, call one service or selector, render.

Every view runs under the admin's tenant scope (portal.middleware), so a row of a partner the
user does not belong to is a 404; a viewer of the row's partner gets 403 on every action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse

from channels.models import ApiKey, Channel
from clients.models import Invite, Onboarding
from console import services
from console.charts import bar_chart, histogram
from console.selectors import WINDOWS, console_home
from portal.admin_tenancy import partner_access
from portal.client_ip import client_ip
from portal.selectors import partners_visible


def home(request: HttpRequest) -> HttpResponse:
    """The admin's index: per partner (or all the user's partners), the funnel over 7/30/90
    days, the charts and what needs attention, above the usual list of models."""
    access = partner_access(request)
    partners = list(partners_visible(access).order_by("name"))
    chosen = request.GET.get("partner", "")
    shown = [p for p in partners if str(p.pk) == chosen] or partners
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    days = days if days in WINDOWS else 30
    data = console_home(partners=shown, days=days)
    context = {
        **admin.site.each_context(request),
        "title": admin.site.index_title,
        "subtitle": None,
        "app_list": admin.site.get_app_list(request),
        "home": data,
        "partners": partners,
        "chosen": chosen if len(shown) == 1 and len(partners) > 1 else "",
        "windows": WINDOWS,
        "started_chart": bar_chart(
            [(d.day, d.started) for d in data.per_day], title="Onboardings started per day"
        ),
        "live_chart": bar_chart(
            [(d.day, d.live) for d in data.per_day], title="Onboardings gone live per day"
        ),
        "ttl_chart": histogram(data.time_to_live, title="Time to live"),
    }
    request.current_app = admin.site.name
    return TemplateResponse(request, "admin/console/home.html", context)


class ReasonForm(forms.Form):
    text = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@dataclass(frozen=True)
class Action:
    title: str
    explanation: str
    button: str
    # Label of the text field ("" for none).
    text: str
    run: Callable[..., services.Done]
    danger: bool = False


ONBOARDING_ACTIONS: dict[str, Action] = {
    "note": Action(
        "Add a note",
        "The note goes on the onboarding's timeline, for your colleagues.",
        "Add the note",
        "Note",
        lambda obj, user, ip, text: services.onboarding_note_add(
            onboarding=obj, user=user, ip=ip, text=text
        ),
    ),
    "resync": Action(
        "Re-sync with the Partner API",
        "Asks 360Dialog now about this onboarding's client and its numbers; what it reports "
        "is applied and written on the timeline within a minute.",
        "Re-sync now",
        "",
        lambda obj, user, ip, text: services.onboarding_resync(onboarding=obj, user=user, ip=ip),
    ),
    "resend": Action(
        "Send the client's mail again",
        "Sends the latest mail of this onboarding again, to the same recipients.",
        "Send again",
        "",
        lambda obj, user, ip, text: services.notification_resend(onboarding=obj, user=user, ip=ip),
    ),
    "resolve": Action(
        "Mark resolved",
        "Takes it off the “needs attention” list until it moves; if it gets stuck for "
        "another reason it is flagged again.",
        "Mark resolved",
        "What was done",
        lambda obj, user, ip, text: services.onboarding_mark_resolved(
            onboarding=obj, user=user, ip=ip, reason=text
        ),
    ),
    "expire": Action(
        "Mark expired",
        "Ends this onboarding: the client has to start again from the signup page.",
        "Mark expired",
        "Reason",
        lambda obj, user, ip, text: services.onboarding_mark_expired(
            onboarding=obj, user=user, ip=ip, reason=text
        ),
        danger=True,
    ),
}

INVITE_ACTIONS: dict[str, Action] = {
    "send": Action(
        "Send the invite by e-mail",
        "The invite's link was shown only once, when it was made, so sending it makes a fresh "
        "link: the client gets the new one by e-mail and the link made before stops working.",
        "Send a fresh link",
        "",
        lambda obj, user, ip, text: services.invite_send(invite=obj, user=user, ip=ip),
    ),
}

CHANNEL_ACTIONS: dict[str, Action] = {
    "retry": Action(
        "Retry the API key",
        "Creating this number's API key failed for good. Trying again clears the error and "
        "queues a new attempt.",
        "Retry now",
        "",
        lambda obj, user, ip, text: services.channel_key_retry(channel=obj, user=user, ip=ip),
    ),
    "rotate": Action(
        "Rotate the API key",
        "360Dialog makes a new key for this number. The old key stops working at once: the "
        "partner's platform must switch to the new one right away.",
        "Rotate the key",
        "",
        lambda obj, user, ip, text: services.channel_key_rotate(channel=obj, user=user, ip=ip),
        danger=True,
    ),
}


def _managed(request: HttpRequest, partner_id: int, *, action: str, target: Any) -> None:
    """403 unless the user manages the partner; a refused POST is audited."""
    if partner_access(request).may_manage(partner_id):
        return
    if request.method == "POST":
        services.action_refused(
            partner=target.partner,
            user=request.user,
            ip=client_ip(request),
            action=action,
            target=target,
        )
    raise PermissionDenied


def _confirm(
    request: HttpRequest, *, obj: Any, onboarding: Onboarding | None, action: Action, back: str
) -> HttpResponse:
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if not action.text:
        form.fields["text"].required = False
    else:
        form.fields["text"].label = action.text
    if request.method == "POST" and form.is_valid():
        done = action.run(obj, request.user, client_ip(request), form.cleaned_data["text"])
        messages.add_message(request, messages.SUCCESS if done.ok else messages.ERROR, done.message)
        return HttpResponseRedirect(back)
    context = {
        **admin.site.each_context(request),
        "title": action.title,
        "action": action,
        "object": obj,
        "onboarding": onboarding,
        "form": form,
        "back": back,
        "opts": Onboarding._meta,
    }
    return TemplateResponse(request, "admin/console/confirm.html", context)


def onboarding_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    chosen = ONBOARDING_ACTIONS.get(action)
    onboarding = get_object_or_404(Onboarding.objects.select_related("partner"), pk=pk)
    if chosen is None:
        raise PermissionDenied
    _managed(request, onboarding.partner_id, action=f"onboarding.{action}", target=onboarding)
    back = reverse("admin:clients_onboarding_change", args=[onboarding.pk])
    return _confirm(request, obj=onboarding, onboarding=onboarding, action=chosen, back=back)


def channel_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    chosen = CHANNEL_ACTIONS.get(action)
    channel = get_object_or_404(Channel.objects.select_related("partner", "onboarding"), pk=pk)
    if chosen is None:
        raise PermissionDenied
    _managed(request, channel.partner_id, action=f"api_key.{action}", target=channel)
    back = (
        reverse("admin:clients_onboarding_change", args=[channel.onboarding_id])
        if channel.onboarding_id
        else reverse("admin:channels_channel_change", args=[channel.pk])
    )
    return _confirm(request, obj=channel, onboarding=channel.onboarding, action=chosen, back=back)


def invite_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    chosen = INVITE_ACTIONS.get(action)
    invite = get_object_or_404(Invite.objects.select_related("partner"), pk=pk)
    if chosen is None:
        raise PermissionDenied
    _managed(request, invite.partner_id, action=f"invite.{action}", target=invite)
    back = reverse("admin:clients_invite_change", args=[invite.pk])
    return _confirm(request, obj=invite, onboarding=None, action=chosen, back=back)


def channel_key_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The full key, once, to a manager of the partner who gave a reason; rate-limited and
    audited. The page is never cached."""
    channel = get_object_or_404(Channel.objects.select_related("partner", "onboarding"), pk=pk)
    _managed(request, channel.partner_id, action="api_key.reveal", target=channel)
    form = ReasonForm(request.POST if request.method == "POST" else None)
    form.fields["text"].label = "Why do you need the key?"
    key_shown = ""
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            key_shown = services.api_key_reveal(
                channel=channel,
                user=request.user,
                ip=client_ip(request),
                reason=form.cleaned_data["text"],
            )
        except services.RevealLimitedError as limited:
            form.add_error(None, f"Too many keys revealed: try again in {limited.wait} s.")
            status = 429
        except ApiKey.DoesNotExist:
            form.add_error(None, "This number has no current API key.")
    current = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).first()
    context = {
        **admin.site.each_context(request),
        "title": f"Reveal the API key of {channel.label}",
        "channel": channel,
        "current": current,
        "form": form,
        "key_shown": key_shown,
        "opts": Channel._meta,
    }
    response = TemplateResponse(request, "admin/console/reveal.html", context, status=status)
    response["Cache-Control"] = "no-store"
    return response
