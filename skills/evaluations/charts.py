"""Server-rendered SVG charts of an evaluation (the catalogue's style: no JavaScript, printable).

Bars are the pass rate (or the mean) of each version per evaluator, whiskers its 95% interval;
versions are told apart by pattern class and by the label on each bar, not by colour alone.
"""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from skills.evaluations.results import Aggregate


def _group(aggregates: list[Aggregate]) -> dict[str, list[Aggregate]]:
    grouped: dict[str, list[Aggregate]] = {}
    for aggregate in aggregates:
        grouped.setdefault(aggregate.key, []).append(aggregate)
    return grouped


def pass_rates(aggregates: list[Aggregate], version_names: dict[int, str]) -> SafeString:
    """Horizontal bars: per evaluator, one bar per version (pass rate, 0-100 %) with its interval."""
    groups = {k: v for k, v in _group(aggregates).items() if any(a.rate is not None for a in v)}
    if not groups:
        return mark_safe('<p class="chart-empty">No pass/fail scores yet.</p>')
    bar_h, gap, left, width = 18, 14, 200, 720
    versions = max(len(v) for v in groups.values())
    height = len(groups) * (versions * bar_h + gap) + 30
    plot_w = width - left - 230
    parts = [
        f'<svg class="chart eval-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Pass rate per evaluator and version, with 95% Wilson intervals">'
    ]
    for fraction in (0, 0.5, 1):
        x = left + plot_w * fraction
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{height - 20}"/>')
        parts.append(
            f'<text class="axis" x="{x:.1f}" y="{height - 6}" text-anchor="middle">{fraction:.0%}</text>'
        )
    y = 6
    for aggregates_of in groups.values():
        label = escape(aggregates_of[0].label)
        parts.append(
            f'<text class="label" x="{left - 8}" y="{y + versions * bar_h / 2 + 4:.1f}" '
            f'text-anchor="end">{label}</text>'
        )
        for index, aggregate in enumerate(aggregates_of):
            name = escape(version_names.get(aggregate.version_id, "?"))
            top = y + index * bar_h
            if aggregate.rate is None:
                parts.append(
                    f'<text class="value" x="{left + 4}" y="{top + 13}">{name}: not applicable</text>'
                )
                continue
            w = max(plot_w * aggregate.rate, 1)
            lo, hi = left + plot_w * aggregate.rate_low, left + plot_w * aggregate.rate_high
            parts.append(
                f'<rect class="bar version-{index % 4}" x="{left}" y="{top + 2}" '
                f'width="{w:.1f}" height="{bar_h - 4}">'
                f"<title>{label}, {name}: {aggregate.passed}/{aggregate.n} passed "
                f"({aggregate.rate:.0%}, 95% CI {aggregate.rate_low:.0%}-{aggregate.rate_high:.0%})"
                "</title></rect>"
            )
            mid = top + bar_h / 2
            parts.append(f'<line class="whisker" x1="{lo:.1f}" x2="{hi:.1f}" y1="{mid:.1f}" y2="{mid:.1f}"/>')
            parts.append(
                f'<text class="value" x="{left + plot_w + 6}" y="{top + 13}">{name} {aggregate.rate:.0%} '
                f"[{aggregate.rate_low:.0%}, {aggregate.rate_high:.0%}]</text>"
            )
        y += versions * bar_h + gap
    parts.append("</svg>")
    return mark_safe("".join(parts))


def means(aggregates: list[Aggregate], version_names: dict[int, str]) -> SafeString:
    """One small bar chart per measurement (latency, tokens): the mean per version with its interval."""
    groups = {k: v for k, v in _group(aggregates).items() if any(a.mean is not None and a.unit for a in v)}
    if not groups:
        return mark_safe("")
    charts = []
    for aggregates_of in groups.values():
        measured = [a for a in aggregates_of if a.mean is not None]
        top = max(a.mean_high for a in measured) or 1
        bar_h, left, width = 20, 140, 720
        height = len(aggregates_of) * bar_h + 34
        plot_w = width - left - 200
        label = escape(aggregates_of[0].label)
        unit = escape(aggregates_of[0].unit)
        parts = [
            f'<svg class="chart eval-chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{label}: mean per version in {unit}, with 95% t intervals">',
            f'<text class="label" x="4" y="14">{label} (mean, {unit})</text>',
        ]
        for index, aggregate in enumerate(aggregates_of):
            name = escape(version_names.get(aggregate.version_id, "?"))
            y = 22 + index * bar_h
            parts.append(f'<text class="label" x="{left - 8}" y="{y + 13}" text-anchor="end">{name}</text>')
            if aggregate.mean is None:
                continue
            w = max(plot_w * aggregate.mean / top, 1)
            lo, hi = left + plot_w * aggregate.mean_low / top, left + plot_w * aggregate.mean_high / top
            parts.append(
                f'<rect class="bar version-{index % 4}" x="{left}" y="{y + 2}" '
                f'width="{w:.1f}" height="{bar_h - 4}">'
                f"<title>{name}: mean {aggregate.mean:.2f} {unit} over {aggregate.n}</title></rect>"
            )
            parts.append(
                f'<line class="whisker" x1="{max(lo, left):.1f}" x2="{hi:.1f}" y1="{y + bar_h / 2:.1f}" '
                f'y2="{y + bar_h / 2:.1f}"/>'
            )
            parts.append(
                f'<text class="value" x="{left + plot_w + 6}" y="{y + 13}">{aggregate.mean:.2f} '
                f"[{aggregate.mean_low:.2f}, {aggregate.mean_high:.2f}]</text>"
            )
        parts.append("</svg>")
        charts.append("".join(parts))
    return mark_safe("".join(charts))
