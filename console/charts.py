"""Small server-rendered SVG charts: no script, no library, nothing from another origin (the
CSP stays strict). Every value is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH, HEIGHT, PAD_LEFT, PAD_BOTTOM, PAD_TOP = 560, 160, 34, 22, 10


def bar_chart(points: Sequence[tuple[date, int]], *, title: str) -> SafeString:
    """One bar per day, labelled with the first, middle and last day."""
    return _bars([(day.strftime("%d %b"), value) for day, value in points], title=title)


def histogram(buckets: Sequence[tuple[str, int]], *, title: str) -> SafeString:
    return _bars(list(buckets), title=title, label_every=True)


def _bars(
    points: Sequence[tuple[str, int]], *, title: str, label_every: bool = False
) -> SafeString:
    top = max([value for _, value in points] + [1])
    plot_w = WIDTH - PAD_LEFT - 4
    plot_h = HEIGHT - PAD_BOTTOM - PAD_TOP
    step = plot_w / max(len(points), 1)
    bar_w = max(step * 0.7, 1.0)
    bars = []
    labels = []
    middle = len(points) // 2
    for index, (label, value) in enumerate(points):
        x = PAD_LEFT + index * step + (step - bar_w) / 2
        h = plot_h * value / top
        y = PAD_TOP + plot_h - h
        bars.append((f"{x:.1f}", f"{y:.1f}", f"{bar_w:.1f}", f"{h:.1f}", f"{label}: {value}"))
        if label_every or index in (0, middle, len(points) - 1):
            labels.append((f"{x + bar_w / 2:.1f}", HEIGHT - 6, label))
    rects = format_html_join(
        "",
        '<rect class="chart__bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        bars,
    )
    texts = format_html_join(
        "", '<text class="chart__label" x="{}" y="{}" text-anchor="middle">{}</text>', labels
    )
    return format_html(
        '<figure class="chart"><figcaption>{title}</figcaption>'
        '<svg viewBox="0 0 {w} {h}" role="img" aria-label="{title}">'
        '<line class="chart__axis" x1="{x0}" y1="{base}" x2="{w}" y2="{base}"/>'
        '<text class="chart__label" x="{lx}" y="{ty}" text-anchor="end">{top}</text>'
        '<text class="chart__label" x="{lx}" y="{base}" text-anchor="end">0</text>'
        "{rects}{texts}</svg></figure>",
        title=title,
        w=WIDTH,
        h=HEIGHT,
        x0=PAD_LEFT,
        base=HEIGHT - PAD_BOTTOM,
        lx=PAD_LEFT - 4,
        ty=PAD_TOP + 8,
        top=top,
        rects=rects,
        texts=texts,
    )
