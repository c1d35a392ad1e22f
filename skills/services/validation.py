"""Input checked against the version's input schema before a run is accepted, and what a skill says
about a failure trimmed to the line a person needs (the full text stays on the run).

An input the schema rejects is answered like invalid JSON: ``400 invalid_input`` before any run
exists, with one ``path: message`` per field (``name: field required``). A schema that cannot be
compiled (broken metadata) never blocks runs: validation is skipped and the kernel logs it once.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

from django.conf import settings
from jsonschema import exceptions as schema_errors
from jsonschema import validators
from referencing import Registry

from skills.services.errors import InvalidInput

log = logging.getLogger(__name__)

MAX_ERRORS = 50  # kept in the answer's ``errors``; the message lists the first MAX_LISTED
MAX_LISTED = 10


@dataclass(frozen=True)
class FieldError:
    location: tuple[str | int, ...]  # keys and indexes from the input's root
    message: str

    @property
    def path(self) -> str:
        return format_path(self.location)

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "message": self.message, "location": list(self.location)}


class InputRejected(InvalidInput):
    """The input does not match the version's input schema; ``errors`` says where and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        listed = "; ".join(f"{e.path}: {e.message}" for e in errors[:MAX_LISTED])
        more = f"; and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        super().__init__(f"the input does not match the skill's input schema: {listed}{more}")
        self.errors = errors

    @property
    def extra(self) -> dict[str, Any]:
        return {"errors": [e.as_dict() for e in self.errors]}


def check_input(schema: Any, value: Any) -> None:
    """Raise ``InputRejected`` when ``value`` does not match ``schema`` (``None``: nothing declared).

    ``SKILL_VALIDATE_INPUT=false`` leaves it to the skill (JSON Schema is stricter than pydantic's
    lax mode: ``"5"`` for an integer is refused here, accepted by the SDK)."""
    if not settings.SKILL_VALIDATE_INPUT:
        return
    errors = field_errors(schema, value)
    if errors:
        raise InputRejected(errors)


def field_errors(schema: Any, value: Any) -> list[FieldError]:
    """Every way ``value`` breaks ``schema`` (up to ``MAX_ERRORS``), in the schema's order."""
    if schema is None or schema == {}:
        return []
    key = json.dumps(schema, sort_keys=True, default=str)
    validator = _validator(key)
    if validator is None:
        return []
    try:
        found = list(islice(validator.iter_errors(value), MAX_ERRORS))
    except Exception:  # noqa: BLE001 - an unresolvable $ref and the like: the skill checks its input
        _log_once(key, "the input schema cannot be applied; runs go to the skill unchecked", exc_info=True)
        return []
    seen: set[tuple[tuple, str]] = set()
    result: list[FieldError] = []
    for error in found:
        for field_error in _describe(error):
            if (field_error.location, field_error.message) not in seen:
                seen.add((field_error.location, field_error.message))
                result.append(field_error)
    return result[:MAX_ERRORS]


_logged: set[str] = set()


def _log_once(key: str, message: str, **kwargs: Any) -> None:
    if key not in _logged:
        _logged.add(key)
        log.warning(message, **kwargs)


@lru_cache(maxsize=256)
def _validator(key: str):
    """The compiled validator of a schema (by its JSON text), or ``None`` when it does not compile.
    An empty registry: a ``$ref`` to anything outside the schema is never fetched over the network."""
    schema = json.loads(key)
    try:
        cls = validators.validator_for(schema, default=validators.Draft202012Validator)
        cls.check_schema(schema)
        return cls(schema, registry=Registry())
    except Exception:  # noqa: BLE001 - broken metadata must not block runs
        _log_once(
            key, "a skill's input schema does not compile; its runs go to the skill unchecked", exc_info=True
        )
        return None


# -- messages ------------------------------------------------------------------------------------------

_ARTICLES = {"integer": "an integer", "object": "an object", "array": "an array", "null": "null"}


def _kind(name: str) -> str:
    return _ARTICLES.get(name, f"a {name}")


def _expected(types: Any) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return "expected " + " or ".join(_kind(name) for name in names)


def _plural(count: Any, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def _describe(error: schema_errors.ValidationError) -> list[FieldError]:
    location = tuple(error.absolute_path)
    rule, value, instance = error.validator, error.validator_value, error.instance
    if rule == "required" and isinstance(instance, dict):
        return [FieldError(location + (name,), "field required") for name in value if name not in instance]
    if rule in ("additionalProperties", "unevaluatedProperties") and isinstance(instance, dict):
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extra = [k for k in instance if k not in known and not any(re.search(p, k) for p in patterns)]
        if extra:
            return [FieldError(location + (name,), "unexpected field") for name in extra]
    if rule in ("anyOf", "oneOf") and error.context:
        alternatives = [e for e in error.context if not e.relative_path]
        if (
            alternatives
            and all(e.validator == "type" for e in alternatives)
            and len(alternatives) == len(error.context)
        ):
            types: list[str] = []
            for e in alternatives:
                types += (
                    [e.validator_value] if isinstance(e.validator_value, str) else list(e.validator_value)
                )
            return [FieldError(location, _expected(types))]
        best = schema_errors.best_match(error.context)
        return (
            _describe(best)
            if best is not None
            else [FieldError(location, "matches none of the alternatives")]
        )
    if rule == "oneOf":
        return [FieldError(location, "matches more than one alternative")]
    return [FieldError(location, _MESSAGES.get(rule, lambda v, e: e.message)(value, error))]


_MESSAGES = {
    "type": lambda v, e: _expected(v),
    "enum": lambda v, e: "expected one of " + ", ".join(json.dumps(c) for c in v),
    "const": lambda v, e: f"expected {json.dumps(v)}",
    "minimum": lambda v, e: f"must be at least {v}",
    "maximum": lambda v, e: f"must be at most {v}",
    "exclusiveMinimum": lambda v, e: f"must be greater than {v}",
    "exclusiveMaximum": lambda v, e: f"must be less than {v}",
    "multipleOf": lambda v, e: f"must be a multiple of {v}",
    "minLength": lambda v, e: f"must have at least {_plural(v, 'character')}",
    "maxLength": lambda v, e: f"must have at most {_plural(v, 'character')}",
    "minItems": lambda v, e: f"must have at least {_plural(v, 'item')}",
    "maxItems": lambda v, e: f"must have at most {_plural(v, 'item')}",
    "minProperties": lambda v, e: f"must have at least {_plural(v, 'field')}",
    "maxProperties": lambda v, e: f"must have at most {_plural(v, 'field')}",
    "uniqueItems": lambda v, e: "items must be unique",
    "pattern": lambda v, e: f"must match the pattern {v}",
    "format": lambda v, e: f"must be a valid {v}",
    "not": lambda v, e: "must not match the excluded schema",
    "False": lambda v, e: "no value is allowed here",
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def format_path(location: tuple[str | int, ...] | list) -> str:
    """``("items", 0, "count")`` -> ``items[0].count``; the root is ``input``."""
    text = ""
    for step in location:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _IDENTIFIER.match(step):
            text += f".{step}" if text else step
        else:
            text += f"[{json.dumps(step, ensure_ascii=False)}]"
    return text or "input"


# -- what a skill says ---------------------------------------------------------------------------------

_TRACEBACK = "Traceback (most recent call last):"
_PYDANTIC = re.compile(r"^\d+ validation errors? for \S+")
_PYDANTIC_TYPE = re.compile(r"\s+\[type=[^\]]*\]$")


def trim_message(text: str) -> str:
    """The line of a skill's error message that says what went wrong: for a Python traceback (what
    SDK skills report) its exception (``ValueError: unknown action 'x'``), for a pydantic
    validation error one ``field: message`` per field. Anything else is returned unchanged."""
    if not text or _TRACEBACK not in text:
        return text
    lines = text[text.rindex(_TRACEBACK) + len(_TRACEBACK) :].splitlines()
    rest = [line for line in lines if line.strip()]
    start = next((i for i, line in enumerate(rest) if not line.startswith((" ", "\t"))), None)
    if start is None:
        return text
    exception, details = rest[start], rest[start + 1 :]
    name, colon, message = exception.partition(":")
    short = name.rsplit(".", 1)[-1] if re.fullmatch(r"[\w.]+", name) else name
    if short == "ValidationError" and _PYDANTIC.match(message.strip()):
        fields = _pydantic_fields(details)
        if fields:
            return "; ".join(fields)
    return f"{short}{colon}{message}"


def _pydantic_fields(lines: list[str]) -> list[str]:
    """``["name", "  Field required [type=missing, ...]", "    For further ..."]``
    -> ``["name: Field required"]``."""
    fields, location = [], None
    for line in lines:
        if not line.startswith(" "):
            location = line.strip()
        elif not line.startswith("    "):  # a model-level error has no location line
            fields.append(f"{location or 'input'}: {_PYDANTIC_TYPE.sub('', line.strip())}")
            location = None
    return fields
