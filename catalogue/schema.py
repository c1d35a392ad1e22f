"""JSON schemas made readable: table rows, an example input and the fields of the try-it form.

Pydantic (which the SDK uses) emits ``$defs`` + ``$ref`` for nested models and ``anyOf`` with
``null`` for optional fields; both are resolved here so the templates see plain trees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_DEPTH = 6


def _resolve(schema: Any, root: dict) -> dict:
    """Follow ``$ref`` into ``$defs`` and fold ``anyOf [X, null]`` into X (marked nullable)."""
    if not isinstance(schema, dict):
        return {}
    seen = 0
    while "$ref" in schema and seen < 10:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = root.get("$defs", root.get("definitions", {})).get(name, {})
        schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list):
            real = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            if len(real) == 1:
                inner = _resolve(real[0], root)
                merged = {**inner, **{k: v for k, v in schema.items() if k != key}}
                merged["nullable"] = len(real) < len(options)
                return merged
    return schema


def type_label(schema: dict, root: dict) -> str:
    schema = _resolve(schema, root)
    if "enum" in schema:
        return "one of"
    if "const" in schema:
        return "constant"
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = _resolve(schema.get("items", {}), root)
        return f"array of {type_label(items, root)}s" if items else "array"
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(type_label(option, root) for option in schema[key])
    label = kind or "any JSON"
    return f"{label} or null" if schema.get("nullable") else label


@dataclass
class Row:
    name: str
    depth: int
    type: str
    required: bool
    description: str = ""
    enum: list[Any] = field(default_factory=list)
    default: Any = None
    has_default: bool = False


def rows(schema: Any) -> list[Row]:
    """One row per property, children indented under their parent (objects and array items)."""
    if not isinstance(schema, dict):
        return []
    out: list[Row] = []
    _walk(_resolve(schema, schema), schema, 0, out)
    return out


def _walk(schema: dict, root: dict, depth: int, out: list[Row]) -> None:
    if depth >= MAX_DEPTH:
        return
    if schema.get("type") == "array" or "items" in schema:
        items = _resolve(schema.get("items", {}), root)
        if items.get("properties"):
            _walk(items, root, depth, out)
        return
    required = set(schema.get("required", []))
    for name, child in (schema.get("properties") or {}).items():
        resolved = _resolve(child, root)
        out.append(
            Row(
                name=name,
                depth=depth,
                type=type_label(child, root),
                required=name in required,
                description=resolved.get("description", "") or "",
                enum=list(resolved.get("enum", [])) or ([resolved["const"]] if "const" in resolved else []),
                default=resolved.get("default"),
                has_default="default" in resolved,
            )
        )
        if resolved.get("properties") or resolved.get("type") == "array":
            _walk(resolved, root, depth + 1, out)


def example(schema: Any) -> Any:
    """An input that validates: the schema's own example, else required fields filled in."""
    if not isinstance(schema, dict):
        return None
    if schema.get("examples"):
        return schema["examples"][0]
    return _example(_resolve(schema, schema), schema, 0, top=True)


def _example(schema: dict, root: dict, depth: int, top: bool = False) -> Any:
    if "default" in schema and not top:
        return schema["default"]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties") or {}
        required = schema.get("required") or list(properties)
        if depth >= MAX_DEPTH:
            return {}
        return {
            name: _example(_resolve(properties[name], root), root, depth + 1)
            for name in required
            if name in properties
        }
    if kind == "array":
        items = _resolve(schema.get("items", {}), root)
        return [_example(items, root, depth + 1)] if items and depth < MAX_DEPTH else []
    return {"string": "text", "integer": 1, "number": 1.0, "boolean": False, "null": None}.get(kind, "text")


@dataclass
class Field:
    """One input of the try-it form; ``kind`` picks the widget, ``children`` nest objects."""

    key: str
    label: str
    kind: str  # object | array | enum | string | text | integer | number | boolean | json
    required: bool = False
    description: str = ""
    default: Any = None
    has_default: bool = False
    choices: list[Any] = field(default_factory=list)
    children: list[Field] = field(default_factory=list)
    item: Field | None = None  # the template of an array's items

    @property
    def default_text(self) -> str:
        if not self.has_default or self.default is None:
            return ""
        if self.kind == "json":
            import json

            return json.dumps(self.default)
        return str(self.default)


_NO_VALUE = object()


def form_fields(schema: Any) -> Field | None:
    """The root field of the try-it form, or None when the schema is not an object we can render.

    The fields start filled with :func:`example`, so the form runs as it is on first use."""
    if not isinstance(schema, dict):
        return None
    root = _resolve(schema, schema)
    if root.get("type") != "object" and "properties" not in root:
        return None
    return _field("", "input", root, schema, True, 0, example(schema))


def _field(
    key: str, label: str, schema: dict, root: dict, required: bool, depth: int, value: Any = _NO_VALUE
) -> Field:
    description = schema.get("description", "") or ""
    scalar_value = value is not _NO_VALUE and not isinstance(value, (dict, list))
    base = {
        "key": key,
        "label": label,
        "required": required,
        "description": description,
        "default": value if scalar_value else schema.get("default"),
        "has_default": scalar_value or "default" in schema,
    }
    kind = schema.get("type")
    if schema.get("enum"):
        return Field(kind="enum", choices=list(schema["enum"]), **base)
    if (kind == "object" or "properties" in schema) and schema.get("properties") and depth < MAX_DEPTH:
        required_names = set(schema.get("required", []))
        values = value if isinstance(value, dict) else {}
        children = [
            _field(
                name,
                name,
                _resolve(child, root),
                root,
                name in required_names,
                depth + 1,
                values.get(name, _NO_VALUE),
            )
            for name, child in schema["properties"].items()
        ]
        return Field(kind="object", children=children, **base)
    if kind == "array" and depth < MAX_DEPTH:
        items = _resolve(schema.get("items", {}), root)
        if items:
            return Field(kind="array", item=_field("", "item", items, root, True, depth + 1), **base)
    if kind == "string":
        long_text = schema.get("format") == "textarea" or (schema.get("maxLength") or 0) > 200
        return Field(kind="text" if long_text else "string", **base)
    if kind in ("integer", "number", "boolean"):
        return Field(kind=kind, **base)
    return Field(kind="json", **base)  # any JSON, free-form objects, unions
