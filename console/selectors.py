"""Reads for the account managers' console: why an onboarding is stuck, its whole story, the
funnel and what needs attention. Each runs a fixed number of queries whatever the data size;
callers are inside the tenant scope of the user's partners."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import (
    Aggregate,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from channels.lifecycle import KEY_STATUSES
from channels.models import ApiKey, Channel, PartnerApiCall
from clients.models import Notification, Onboarding, TimelineEntry
from console.models import PageEvent, StuckFlag, StuckReason, StuckThresholds
from console.search import EventChannel
from portal.models import Partner
from webhooks.models import WebhookEvent

logger = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# Stuck onboardings


THRESHOLD_NAMES = (
    "returned_no_channel",
    "channel_not_running",
    "running_no_key",
    "permission_missing",
)


@dataclass(frozen=True)
class Stuck:
    reason: StuckReason
    since: datetime
    detail: str


def stuck_thresholds_for(partner: Partner) -> dict[str, timedelta]:
    """The partner's thresholds: its own where set (StuckThresholds), else the setting."""
    own = StuckThresholds.objects.filter(partner=partner).first()
    defaults: dict[str, int] = settings.STUCK_THRESHOLDS_MINUTES
    minutes = {
        name: (getattr(own, name) if own and getattr(own, name) is not None else defaults[name])
        for name in THRESHOLD_NAMES
    }
    return {name: timedelta(minutes=value) for name, value in minutes.items()}


def channels_with_key_flag() -> QuerySet[Channel]:
    """Channels annotated with `has_key` (a current API key is stored)."""
    current = ApiKey.objects.filter(channel=OuterRef("pk"), revoked_at__isnull=True)
    return Channel.objects.annotate(has_key=Exists(current)).order_by("created_at", "pk")


def onboarding_stuck_reason(
    *,
    onboarding: Onboarding,
    channels: Sequence[Channel],
    payment_mode: str,
    thresholds: dict[str, timedelta],
    now: datetime,
    failed_webhooks: dict[str, datetime] | None = None,
) -> Stuck | None:
    """Why the onboarding is stuck, or None. `channels` are its channels, each annotated with
    `has_key` (channels_with_key_flag); `failed_webhooks` maps a 360Dialog channel id to the
    oldest failed webhook event about it (failed_webhooks_by_channel). Live, expired and
    unverified onboardings are never stuck; signups not yet back from 360Dialog expire
    instead (clients.services)."""
    if onboarding.status in (Onboarding.Status.LIVE, Onboarding.Status.EXPIRED):
        return None
    if not onboarding.verified:
        return None
    if onboarding.dead_end == Onboarding.DeadEnd.NUMBER_ELSEWHERE:  # stuck at once
        return Stuck(
            StuckReason.NUMBER_ELSEWHERE,
            onboarding.returned_at or onboarding.updated_at,
            "the client signed up again; the number is already connected to another onboarding",
        )
    if onboarding.returned_at is None and not channels:
        return None
    direct = payment_mode == Partner.PaymentMode.DIRECT
    for channel in channels:
        if channel.api_key_error:
            return Stuck(
                StuckReason.KEY_ERROR,
                channel.api_key_error_at or channel.updated_at,
                f"{channel.label}: {channel.api_key_error}"[:300],
            )
        if channel.cancelled_at or channel.has_violation:
            what = "cancelled" if channel.cancelled_at else "has an account violation"
            return Stuck(
                StuckReason.CANCELLED,
                channel.cancelled_at or channel.updated_at,
                f"{channel.label} {what}",
            )
    for channel in channels:
        failed_since = (failed_webhooks or {}).get(channel.hub_channel_id)
        if failed_since is not None:
            return Stuck(
                StuckReason.WEBHOOK_FAILED,
                failed_since,
                f"{channel.label}: a webhook event about it failed; replay it from Webhook "
                "events once the cause is fixed",
            )
    for channel in channels:
        if getattr(channel, "has_key", False):
            continue
        granted = channel.permission == Channel.Permission.GRANTED
        if direct and not granted and now - channel.created_at >= thresholds["permission_missing"]:
            return Stuck(
                StuckReason.PERMISSION_MISSING,
                channel.created_at,
                f"{channel.label}: the client has not shared the number with the partner",
            )
        if channel.status in KEY_STATUSES:
            since = channel.status_changed_at or channel.created_at
            if (not direct or granted) and now - since >= thresholds["running_no_key"]:
                return Stuck(
                    StuckReason.RUNNING_NO_KEY, since, f"{channel.label} is {channel.status}"
                )
        elif now - channel.created_at >= thresholds["channel_not_running"]:
            return Stuck(
                StuckReason.CHANNEL_NOT_RUNNING,
                channel.created_at,
                f"{channel.label} is still {channel.status}",
            )
    returned_at = onboarding.returned_at
    if not channels and returned_at and now - returned_at >= thresholds["returned_no_channel"]:
        client = onboarding.return_data.get("client") or "unknown"
        return Stuck(StuckReason.RETURNED_NO_CHANNEL, returned_at, f"client {client}")
    return None


def failed_webhooks_by_channel(partner: Partner) -> dict[str, datetime]:
    """360Dialog channel id -> when the oldest failed webhook event about it arrived. One
    query; failed events are few (they are replayed or fixed)."""
    return dict(
        WebhookEvent.objects.filter(partner=partner, status=WebhookEvent.Status.FAILED)
        .annotate(channel_ref=EventChannel("payload"))
        .exclude(channel_ref="")
        .values("channel_ref")
        .annotate(first=Min("received_at"))
        .values_list("channel_ref", "first")
        .order_by()
    )


def onboardings_to_check() -> QuerySet[Onboarding]:
    """Onboardings that may be stuck, their channels prefetched with `has_key`."""
    return (
        Onboarding.objects.filter(
            verified=True,
            status__in=[
                Onboarding.Status.OPENED,
                Onboarding.Status.RETURNED,
                Onboarding.Status.FAILED,
            ],
        )
        .filter(Q(returned_at__isnull=False) | Q(channels__isnull=False))
        .distinct()
        .prefetch_related(Prefetch("channels", queryset=channels_with_key_flag()))
        .order_by("pk")
    )


def current_step(onboarding: Onboarding, channels: Sequence[Channel]) -> str:
    """Where the onboarding is, in a manager's words. `channels` carry `has_key`."""
    if onboarding.status in (Onboarding.Status.LIVE, Onboarding.Status.EXPIRED):
        return onboarding.get_status_display()
    if onboarding.status == Onboarding.Status.FAILED:
        return "Failed"
    if channels:
        if all(getattr(channel, "has_key", False) for channel in channels):
            return "Key stored"
        order = [status for status, _ in Channel.Status.choices]
        slowest = min(channels, key=lambda channel: order.index(channel.status))
        return f"Number {slowest.get_status_display().lower()}"
    if onboarding.returned_at:
        return "Waiting for the number"
    if onboarding.opened_at:
        return "In 360Dialog's popup"
    return "Signed up"


# ---------------------------------------------------------------------------------------------
# Masked keys and the one-page story


def key_masked(key: ApiKey) -> str:
    """All that any page shows of a key, unless it is revealed on purpose."""
    return f"…{key.last4} · {key.fingerprint}"


@dataclass(frozen=True)
class StoryEvent:
    at: datetime
    kind: str
    label: str
    message: str
    link: str = ""
    link_text: str = "stored event"


@dataclass
class ChannelStory:
    channel: Channel
    keys: list[ApiKey]

    @property
    def current_key(self) -> ApiKey | None:
        return next((key for key in self.keys if key.revoked_at is None), None)


@dataclass
class Story:
    onboarding: Onboarding
    channels: list[ChannelStory]
    events: list[StoryEvent]
    flag: StuckFlag | None


STORY_API_CALLS = 200


def onboarding_story(onboarding: Onboarding) -> Story:
    """Its channels with their keys, and one timeline: the onboarding's own entries, mails,
    each webhook linked to its stored event, the Partner API calls made for it or its channels
    (the latest STORY_API_CALLS, each linked to its channel), what its page reported (popup
    blocked or closed early). Seven queries."""
    channels = list(
        Channel.objects.filter(onboarding=onboarding)
        .order_by("created_at", "pk")
        .prefetch_related(Prefetch("api_keys", queryset=ApiKey.objects.order_by("-created_at")))
    )
    entries = list(TimelineEntry.objects.filter(onboarding=onboarding).order_by("created_at", "pk"))
    mails = list(
        Notification.objects.filter(onboarding=onboarding).only(
            "created_at", "sent_at", "subject", "kind", "recipients", "last_error"
        )
    )
    event_ids = {str(entry.data.get("event_id")) for entry in entries if entry.data.get("event_id")}
    # An event's id is in its dedupe key: the unique index (partner, dedupe_key) finds it.
    stored_events = {
        key.removeprefix("id:"): pk
        for key, pk in (
            WebhookEvent.objects.filter(
                partner_id=onboarding.partner_id,
                dedupe_key__in=[f"id:{event_id}" for event_id in event_ids],
            )
            .order_by()
            .values_list("dedupe_key", "pk")
            if event_ids
            else []
        )
    }
    events = [
        StoryEvent(
            at=entry.created_at,
            kind=entry.kind,
            label=entry.get_kind_display(),
            message=entry.message,
            link=_event_link(stored_events.get(str(entry.data.get("event_id") or ""))),
        )
        for entry in entries
    ]
    for mail in mails:
        sent = f"sent {mail.sent_at:%Y-%m-%d %H:%M}" if mail.sent_at else "not sent yet"
        problem = f" ({mail.last_error})" if mail.last_error else ""
        events.append(
            StoryEvent(
                at=mail.created_at,
                kind="mail",
                label="Mail",
                message=f"“{mail.subject}” to {len(mail.recipients)} recipient(s), {sent}{problem}",
            )
        )
    channel_pks = [channel.pk for channel in channels]
    calls = PartnerApiCall.objects.filter(
        Q(onboarding_id=onboarding.pk) | Q(channel_id__in=channel_pks)
    ).order_by("-at", "-pk")[:STORY_API_CALLS]
    labels = {channel.pk: channel.label for channel in channels}
    for call in calls:
        events.append(_call_event(call, labels))
    for page_event in PageEvent.objects.filter(onboarding=onboarding).order_by("at"):
        events.append(
            StoryEvent(
                at=page_event.at,
                kind="page",
                label="Page",
                message=f"{page_event.get_kind_display()} (reported by the client's page)",
            )
        )
    events.sort(key=lambda event: event.at)
    # A flag outlives the onboarding's end until the next check clears it: not shown then.
    ended = onboarding.status in (Onboarding.Status.LIVE, Onboarding.Status.EXPIRED)
    flag = None if ended else StuckFlag.objects.filter(onboarding=onboarding).first()
    return Story(
        onboarding=onboarding,
        channels=[ChannelStory(channel, list(channel.api_keys.all())) for channel in channels],
        events=events,
        flag=flag,
    )


def _call_event(call: PartnerApiCall, labels: dict[int, str]) -> StoryEvent:
    from django.urls import reverse

    number = labels.get(call.channel_id or 0, "")
    about = f" for {number}" if number else ""
    error = f": {call.error}" if call.error else ""
    link = ""
    if call.channel_id in labels:
        link = reverse("admin:channels_channel_change", args=[call.channel_id])
    return StoryEvent(
        at=call.at,
        kind="api_call" if call.ok else "api_error",
        label="Partner API" if call.ok else "Partner API error",
        message=f"{call.operation}{about}: {call.outcome} in {call.duration_ms} ms{error}",
        link=link,
        link_text="number",
    )


def _event_link(pk: int | None) -> str:
    if pk is None:
        return ""
    from django.urls import reverse

    return reverse("admin:webhooks_webhookevent_change", args=[pk])


# ---------------------------------------------------------------------------------------------
# Home: the funnel, charts and what needs attention

WINDOWS = (7, 30, 90)


class Seconds(Func):
    """A duration in seconds (PostgreSQL)."""

    template = "EXTRACT(EPOCH FROM %(expressions)s)"
    output_field = FloatField()


class Median(Aggregate):
    """The median of the non-null values (PostgreSQL's percentile_cont)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _between(start: str, end: str) -> Seconds:
    return Seconds(ExpressionWrapper(F(end) - F(start), output_field=DurationField()))


@dataclass(frozen=True)
class FunnelStep:
    name: str
    label: str
    count: int
    conversion: float | None  # of the step before, 0..1
    median_seconds: float | None  # from the step before
    # A way out beside the path (popup blocked or closed early): the step after it is
    # compared with the step before it.
    aside: bool = False


@dataclass(frozen=True)
class DayCount:
    day: date
    started: int
    live: int


@dataclass
class Home:
    days: int
    since: datetime
    funnel: list[FunnelStep]
    per_day: list[DayCount]
    time_to_live: list[tuple[str, int]]
    stuck: list[StuckFlag]
    stuck_count: int
    failed: list[Onboarding]
    failed_count: int
    rejected_webhooks: list[Partner]
    failed_webhooks: int
    key_errors: int
    api_errors: int = 0
    api_error_last: datetime | None = None
    figures_as_of: datetime | None = None
    figures_max_age: int = 0
    corrections: int = 0
    unknown_keys: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


_STEPS = (
    ("viewed", "Signup page viewed"),
    ("started", "Form submitted"),
    ("opened", "Popup opened"),
    ("popup_trouble", "Popup blocked or closed early"),
    ("returned", "Returned from 360Dialog"),
    ("running", "First number running"),
    ("key", "API key stored"),
    ("live", "Live"),
)
_TIME_TO_LIVE_BUCKETS = (
    ("< 10 min", timedelta(minutes=10)),
    ("< 1 h", timedelta(hours=1)),
    ("< 6 h", timedelta(hours=6)),
    ("< 1 day", timedelta(days=1)),
    ("< 3 days", timedelta(days=3)),
)


@dataclass(frozen=True)
class Figures:
    """The funnel and the charts: what the home page computes from every onboarding of the
    window, kept for HOME_FIGURES_SECONDS."""

    as_of: datetime
    funnel: list[FunnelStep]
    per_day: list[DayCount]
    time_to_live: list[tuple[str, int]]


def home_figures_key(partner_ids: Iterable[int], days: int) -> str:
    return f"console:home-figures:{days}:{','.join(map(str, sorted(partner_ids)))}"


def home_figures(*, partner_ids: list[int], days: int, now: datetime) -> Figures:
    """The figures for these partners and window, as computed at most
    settings.HOME_FIGURES_SECONDS ago (the cache; 0 computes them every time). Beat refreshes
    them every minute for each partner and for all partners (home_figures_refresh), so a page
    computes them itself only when none are kept (a first start, beat down, another set of
    partners). Computing them reads every onboarding of the window with its numbers and keys
    (about 200 ms at 100,000 onboardings); what needs attention is read afresh on every
    request instead."""
    seconds = settings.HOME_FIGURES_SECONDS
    key = home_figures_key(partner_ids, days)
    if seconds > 0:
        try:
            cached = cache.get(key)
        except Exception:  # the cache (Redis) is down: compute them
            logger.warning("home figures not read from the cache", exc_info=True)
            cached = None
        if isinstance(cached, Figures):
            return cached
    figures = _figures(partner_ids, now - timedelta(days=days), now)
    if seconds > 0:
        _figures_keep(key, figures, seconds)
    return figures


def home_figures_refresh(*, partner_ids: list[int], days: int, keep_for: int) -> Figures:
    """Compute the figures of these partners and window now and keep them for `keep_for`
    seconds, whatever is kept: what beat does before the kept ones expire. The caller is in a
    scope that holds these partners' rows (a partner's own for one partner)."""
    now = timezone.now()
    figures = _figures(partner_ids, now - timedelta(days=days), now)
    _figures_keep(home_figures_key(partner_ids, days), figures, keep_for)
    return figures


def _figures_keep(key: str, figures: Figures, seconds: int) -> None:
    try:
        cache.set(key, figures, timeout=seconds)
    except Exception:
        logger.warning("home figures not cached", exc_info=True)


def _figures(partner_ids: list[int], since: datetime, now: datetime) -> Figures:
    onboardings = Onboarding.objects.filter(
        partner_id__in=partner_ids, created_at__gte=since, verified=True
    )
    # One grouped join (a hash join at scale), not a subquery per onboarding.
    first_running = Min("channels__status_changed_at", filter=Q(channels__status__in=KEY_STATUSES))
    first_key = Min("channels__api_keys__created_at")
    totals = onboardings.annotate(running_at=first_running, key_at=first_key).aggregate(
        started=Count("pk"),
        opened=Count("opened_at"),
        returned=Count("returned_at"),
        running=Count("running_at"),
        key=Count("key_at"),
        live=Count("pk", filter=Q(status=Onboarding.Status.LIVE)),
        opened_median=Median(_between("created_at", "opened_at")),
        returned_median=Median(_between("opened_at", "returned_at")),
        running_median=Median(_between("returned_at", "running_at")),
        key_median=Median(_between("running_at", "key_at")),
        live_median=Median(
            _between("key_at", "completed_at"), filter=Q(status=Onboarding.Status.LIVE)
        ),
        **{
            f"ttl_{index}": Count(
                "pk",
                filter=Q(status=Onboarding.Status.LIVE)
                & Q(completed_at__lt=F("created_at") + limit),
            )
            for index, (_, limit) in enumerate(_TIME_TO_LIVE_BUCKETS)
        },
    )
    # What the pages reported (console.beacon): signup pages are viewed before any onboarding.
    reported = PageEvent.objects.filter(partner_id__in=partner_ids, at__gte=since).aggregate(
        viewed=Count("pk", filter=Q(kind=PageEvent.Kind.SIGNUP_VIEWED)),
        popup_trouble=Count(
            "onboarding",
            distinct=True,
            filter=Q(kind__in=[PageEvent.Kind.POPUP_BLOCKED, PageEvent.Kind.POPUP_CLOSED_EARLY]),
        ),
    )
    totals |= reported
    funnel: list[FunnelStep] = []
    previous: int | None = None
    for name, label in _STEPS:
        count = int(totals[name] or 0)
        aside = name == "popup_trouble"
        funnel.append(
            FunnelStep(
                name=name,
                label=label,
                count=count,
                conversion=(count / previous) if previous else None,
                median_seconds=totals.get(f"{name}_median"),
                aside=aside,
            )
        )
        if not aside:
            previous = count
    # Cumulative counts per bucket, turned into a distribution.
    cumulative = [int(totals[f"ttl_{index}"]) for index in range(len(_TIME_TO_LIVE_BUCKETS))]
    time_to_live = []
    below = 0
    for (label, _), count in zip(_TIME_TO_LIVE_BUCKETS, cumulative, strict=True):
        time_to_live.append((label, count - below))
        below = count
    time_to_live.append(("longer", int(totals["live"]) - below))

    per_day = _per_day(partner_ids, since, now)
    return Figures(as_of=now, funnel=funnel, per_day=per_day, time_to_live=time_to_live)


def console_home(*, partners: Iterable[Partner], days: int, now: datetime | None = None) -> Home:
    """The home page's numbers for `partners` (already limited to what the user may see) over
    the last `days` days. A fixed number of queries."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    partner_ids = [partner.pk for partner in partners]
    figures = home_figures(partner_ids=partner_ids, days=days, now=now)
    funnel, per_day, time_to_live = figures.funnel, figures.per_day, figures.time_to_live
    open_flags = StuckFlag.objects.filter(
        partner_id__in=partner_ids, resolved_at__isnull=True
    ).exclude(onboarding__status__in=[Onboarding.Status.LIVE, Onboarding.Status.EXPIRED])
    failed = Onboarding.objects.filter(
        partner_id__in=partner_ids, status=Onboarding.Status.FAILED, updated_at__gte=since
    )
    day_ago = now - timedelta(hours=24)
    api_errors = PartnerApiCall.objects.filter(
        partner_id__in=partner_ids, ok=False, at__gte=day_ago
    ).aggregate(count=Count("pk"), last=Max("at"))
    # Reconciliation's corrections, and keys 360Dialog held for a number that the portal never
    # stored (found when a key is created: channels.provisioning lists them first).
    recent = TimelineEntry.objects.filter(
        partner_id__in=partner_ids, created_at__gte=day_ago
    ).aggregate(
        corrections=Count("pk", filter=Q(kind=TimelineEntry.Kind.CORRECTION)),
        unknown_keys=Count(
            "pk", filter=Q(kind=TimelineEntry.Kind.API_KEY, data__has_key="hub_key_ids")
        ),
    )
    return Home(
        days=days,
        since=since,
        funnel=funnel,
        per_day=per_day,
        time_to_live=time_to_live,
        stuck=list(open_flags.select_related("onboarding", "partner").order_by("since")[:20]),
        stuck_count=open_flags.count(),
        failed=list(failed.select_related("partner").order_by("-updated_at")[:10]),
        failed_count=failed.count(),
        rejected_webhooks=[
            partner
            for partner in partners
            if partner.webhook_rejected_at and partner.webhook_rejected_at >= day_ago
        ],
        failed_webhooks=WebhookEvent.objects.filter(
            partner_id__in=partner_ids,
            status=WebhookEvent.Status.FAILED,
            received_at__gte=day_ago,
        ).count(),
        key_errors=Channel.objects.filter(partner_id__in=partner_ids)
        .exclude(api_key_error="")
        .count(),
        figures_as_of=figures.as_of,
        figures_max_age=settings.HOME_FIGURES_SECONDS,
        api_errors=api_errors["count"],
        api_error_last=api_errors["last"],
        corrections=recent["corrections"],
        unknown_keys=recent["unknown_keys"],
    )


def _per_day(partner_ids: list[int], since: datetime, now: datetime) -> list[DayCount]:
    """Onboardings started and gone live on each day of the window (two grouped queries)."""
    base = Onboarding.objects.filter(partner_id__in=partner_ids, verified=True)
    started = dict(
        base.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    live = dict(
        base.filter(completed_at__gte=since, status=Onboarding.Status.LIVE)
        .annotate(day=TruncDate("completed_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    first = timezone.localdate(since)
    total = (timezone.localdate(now) - first).days + 1
    days = [first + timedelta(days=offset) for offset in range(total)]
    return [DayCount(day, started.get(day, 0), live.get(day, 0)) for day in days]
