"""Metadata filters of a search, in the DocumentIndex's JSON shape (``runtime.csi.types.SearchRequest``):

``[{"with": [cond, ...]}, {"without": [...]}, {"with_one_of": [...]}]``, all filters must hold; a
condition is ``{"metadata": {"field": f, <op>: value}}`` with op ``equal_to``, ``greater_than``
(``_or_equal_to``), ``less_than`` (``_or_equal_to``), ``after``/``at_or_after``/``before``/
``at_or_before`` (ISO 8601 times) or ``is_null``; or ``{"modality": "text"}``, which every chunk
satisfies. ``field`` may be dotted (``author.name``). Metadata that is a list of objects matches
when one of them does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from skills.documents.models import Collection
from skills.services.errors import InvalidInput

_MISSING = object()
_KINDS = ("with", "without", "with_one_of")


def _lookup(metadata: Any, field: str) -> Any:
    value = metadata
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


_COMPARE = {
    "greater_than": lambda a, b: a > b,
    "greater_than_or_equal_to": lambda a, b: a >= b,
    "less_than": lambda a, b: a < b,
    "less_than_or_equal_to": lambda a, b: a <= b,
}
_TIMES = {"after": "greater_than", "at_or_after": "greater_than_or_equal_to", "before": "less_than"}
_TIMES["at_or_before"] = "less_than_or_equal_to"


def _holds(condition: dict[str, Any], metadata: Any) -> bool:
    if "modality" in condition:
        return True
    spec = condition["metadata"]
    if isinstance(metadata, list):
        return any(_holds(condition, item) for item in metadata)
    value = _lookup(metadata, spec["field"])
    op, expected = next((key, item) for key, item in spec.items() if key != "field")
    if op == "is_null":
        return (value is _MISSING or value is None) == bool(expected)
    if value is _MISSING:
        return False
    if op == "equal_to":
        return value == expected
    if op in _COMPARE:
        a, b = _number(value), _number(expected)
        return a is not None and b is not None and _COMPARE[op](a, b)
    a, b = _time(value), _time(expected)
    return a is not None and b is not None and _COMPARE[_TIMES[op]](a, b)


def validate(filters: Any) -> list[dict[str, Any]]:
    """The filters if well formed; :class:`InvalidInput` naming the first problem otherwise."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise InvalidInput("filters must be a list")
    ops = ("equal_to", "is_null", *_COMPARE, *_TIMES)
    for position, filter_ in enumerate(filters):
        where = f"filters[{position}]"
        if not isinstance(filter_, dict) or len(filter_) != 1 or next(iter(filter_)) not in _KINDS:
            raise InvalidInput(f"{where} must be an object with one key of {', '.join(_KINDS)}")
        kind, conditions = next(iter(filter_.items()))
        if not isinstance(conditions, list):
            raise InvalidInput(f"{where}.{kind} must be a list of conditions")
        for number, condition in enumerate(conditions):
            here = f"{where}.{kind}[{number}]"
            if isinstance(condition, dict) and set(condition) == {"modality"}:
                if not isinstance(condition["modality"], str):
                    raise InvalidInput(f"{here}.modality must be a string")
                continue
            spec = condition.get("metadata") if isinstance(condition, dict) and len(condition) == 1 else None
            if not isinstance(spec, dict) or not isinstance(spec.get("field"), str):
                raise InvalidInput(f"{here} must be {{'metadata': {{'field': ..., <condition>: value}}}}")
            named = [key for key in spec if key != "field"]
            if len(named) != 1 or named[0] not in ops:
                raise InvalidInput(f"{here}.metadata needs exactly one condition of {', '.join(ops)}")
    return filters


def passes(filters: list[dict[str, Any]], metadata: Any) -> bool:
    for filter_ in filters:
        kind, conditions = next(iter(filter_.items()))
        hits = [_holds(condition, metadata) for condition in conditions]
        if kind == "with" and not all(hits):
            return False
        if kind == "with_one_of" and not any(hits):
            return False
        if kind == "without" and any(hits):
            return False
    return True


def matching_documents(collection: Collection, filters: list[dict[str, Any]]) -> list[int] | None:
    """Ids of the collection's documents that pass; ``None`` when no filter names metadata."""
    filters = validate(filters)
    if all(kind != "without" and all("modality" in c for c in cs) for f in filters for kind, cs in f.items()):
        return None
    rows = collection.documents.values_list("id", "metadata")
    return [pk for pk, metadata in rows if passes(filters, metadata)]
