"""Server-rendered SVG charts: no JavaScript, no CDN, printable, readable without colour alone."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

STATUS_ORDER = ["succeeded", "failed", "cancelled", "running", "queued"]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000):
        if value <= step:
            return step
    return value


def runs_per_hour(rows: list[dict], *, hours: int = 24, now: datetime | None = None) -> SafeString:
    """Stacked bars: one per hour of the last ``hours``, split by run status."""
    now = now or timezone.now()
    end = now.replace(minute=0, second=0, microsecond=0)
    slots = [end - timedelta(hours=hours - 1 - i) for i in range(hours)]
    counts: dict[datetime, dict[str, int]] = {slot: {} for slot in slots}
    for row in rows:
        hour = row["hour"]
        if hour in counts:
            counts[hour][row["status"]] = counts[hour].get(row["status"], 0) + row["n"]
    if not any(counts.values()):
        return mark_safe(f'<p class="chart-empty">No runs in the last {hours} hours.</p>')
    top = _nice_max(max((sum(c.values()) for c in counts.values()), default=0))
    width, height, left, bottom, top_pad = 720, 200, 40, 24, 10
    plot_h = height - bottom - top_pad
    bar_w = (width - left - 10) / hours
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Runs per hour over the last {hours} hours, by status">'
    ]
    for fraction in (0, 0.5, 1):
        y = top_pad + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{top * fraction:g}</text>'
        )
    for index, slot in enumerate(slots):
        x = left + index * bar_w
        y = top_pad + plot_h
        total = sum(counts[slot].values())
        for status in STATUS_ORDER:
            n = counts[slot].get(status, 0)
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            parts.append(
                f'<rect class="bar status-{status}" x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                f'height="{h:.1f}"><title>{slot:%H:00}: {n} {status}</title></rect>'
            )
        if index % 3 == 0:
            parts.append(
                f'<text class="axis" x="{x + bar_w / 2:.1f}" y="{height - 6}" text-anchor="middle">'
                f"{slot:%H:00}</text>"
            )
        if total:
            parts.append(f"<desc>{slot:%H:00} {total} runs</desc>")
    parts.append("</svg>")
    return mark_safe("".join(parts))


def latency_bars(skills: list) -> SafeString:
    """Horizontal bars per skill: p50 (solid) inside p95 (light), in milliseconds."""
    measured = [s for s in skills if s.latency.p95 is not None]
    if not measured:
        return mark_safe("")
    row_h, left, width = 28, 180, 720
    height = row_h * len(measured) + 30
    top = _nice_max(max(s.latency.p95 for s in measured))
    scale = (width - left - 190) / top
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Latency percentiles per skill over the last 24 hours">'
    ]
    for index, skill in enumerate(measured):
        y = 10 + index * row_h
        p50, p95 = skill.latency.p50, skill.latency.p95
        name = escape(skill.qualified_name)
        parts.append(f'<text class="label" x="{left - 8}" y="{y + 15}" text-anchor="end">{name}</text>')
        parts.append(
            f'<rect class="bar p95" x="{left}" y="{y + 3}" width="{max(p95 * scale, 1):.1f}" height="16">'
            f"<title>{name} p95 {p95:.1f} ms</title></rect>"
        )
        parts.append(
            f'<rect class="bar p50" x="{left}" y="{y + 3}" width="{max(p50 * scale, 1):.1f}" height="16">'
            f"<title>{name} p50 {p50:.1f} ms</title></rect>"
        )
        parts.append(
            f'<text class="value" x="{left + p95 * scale + 6:.1f}" y="{y + 15}">'
            f"p50 {p50:.0f} · p95 {p95:.0f} ms</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
