"""Template filters of the catalogue: rendered descriptions, durations, JSON values."""

from __future__ import annotations

import json

import markdown as md
from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def markdown(text: str) -> str:
    """Render a skill's description; raw HTML in it is escaped first (descriptions are untrusted)."""
    if not text:
        return ""
    return mark_safe(md.markdown(escape(text), extensions=["fenced_code", "tables"]))


@register.filter
def ms(value) -> str:
    """12.3 ms, 1.24 s, or an en dash when unknown."""
    if value is None or value == "":
        return "–"
    value = float(value)
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    if value >= 100:
        return f"{value:.0f} ms"
    return f"{value:.1f} ms"


@register.filter
def as_json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


@register.filter
def short(digest: str) -> str:
    return (digest or "")[:12]


@register.filter
def mb(size) -> str:
    return f"{(size or 0) / 1e6:.1f} MB"


@register.filter
def has_descriptions(rows) -> bool:
    return any(getattr(row, "description", "") for row in rows)
