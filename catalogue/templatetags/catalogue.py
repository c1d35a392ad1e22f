"""Template filters of the catalogue: descriptions, durations, dates, JSON values, span attributes."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import markdown as md
from django import template
from django.utils.html import escape, format_html
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


@register.filter
def utc(value, precision: str = "") -> str:
    """``<time>`` in one unambiguous format, whatever the browser's locale: 2026-12-03 13:05:41 UTC.

    ``precision="ms"`` adds milliseconds (a run's own timestamps, which differ by a few).
    """
    if not value:
        return "–"
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if precision == "ms":
        text += f".{value.microsecond // 1000:03d}"
    return format_html('<time datetime="{}">{} UTC</time>', value.isoformat().replace("+00:00", "Z"), text)


@dataclass(frozen=True)
class Attribute:
    """One span attribute as the run page shows it: ``block`` values (JSON, long text) get a box."""

    key: str
    text: str
    block: bool = False
    kind: str = "text"  # text, number, bool, json: a CSS class, so numbers and JSON read differently


INLINE_LIMIT = 80  # characters; longer strings are wrapped in a box of their own


def format_attribute(key: str, value: Any) -> Attribute:
    """JSON (including JSON held in a string, as the GenAI message attributes are) pretty-printed,
    numbers and booleans as JSON writes them, long strings in a wrapping box."""
    if isinstance(value, bool):
        return Attribute(key, "true" if value else "false", kind="bool")
    if isinstance(value, (int, float)):
        return Attribute(key, f"{value:g}" if isinstance(value, float) else str(value), kind="number")
    if isinstance(value, str):
        stripped = value.strip()
        if stripped[:1] in ("{", "["):
            try:
                value = json.loads(stripped)
            except ValueError:
                pass
        if isinstance(value, str):
            return Attribute(key, value, block=len(value) > INLINE_LIMIT or "\n" in value)
    compact = json.dumps(value, ensure_ascii=False)
    if len(compact) <= INLINE_LIMIT and not any(isinstance(item, (dict, list)) for item in _items(value)):
        return Attribute(key, compact, kind="json")
    return Attribute(key, json.dumps(value, ensure_ascii=False, indent=2), block=True, kind="json")


def _items(value: Any) -> list:
    if isinstance(value, dict):
        return list(value.values())
    return list(value) if isinstance(value, (list, tuple)) else []


@register.filter
def attribute_rows(attributes) -> list[Attribute]:
    """A span's attributes, sorted by key, ready for the key/value table."""
    if not isinstance(attributes, dict):
        return []
    return [format_attribute(str(key), value) for key, value in sorted(attributes.items())]
