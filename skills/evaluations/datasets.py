"""Datasets: parse an upload (JSONL or CSV), validate every line against the skill's input schema,
store the examples. Nothing is stored when any line is wrong; every wrong line is reported.

JSONL: one JSON object per line. ``{"input": ..., "expected": ..., "metadata": {...}}`` (an object
whose keys are among these three and include ``input``) is an example; any other object is the
input itself. CSV: a header row; columns ``input``, ``expected`` and ``metadata`` hold JSON (an
``expected`` that is not JSON is taken as text); without an ``input`` column, every other column is
a field of the input (its value parsed as JSON when it is, e.g. numbers, else text).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from skills.evaluations.models import Dataset, Example
from skills.models import NamespaceGrant, Skill, SkillVersion
from skills.services import access, registry, validation
from skills.services.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge

JSONL, CSV = "jsonl", "csv"
FORMATS = (JSONL, CSV)
ENVELOPE = {"input", "expected", "metadata"}
MAX_REPORTED = 100  # line errors kept in an answer


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


@dataclass
class ParsedExample:
    line: int
    input: Any
    expected: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)


class DatasetRejected(InvalidInput):
    """Some lines of an upload are wrong; ``errors`` lists them (line, message)."""

    def __init__(self, errors: list[LineError]) -> None:
        first = "; ".join(f"line {e.line}: {e.message}" for e in errors[:5])
        more = f"; and {len(errors) - 5} more" if len(errors) > 5 else ""
        lines = len({e.line for e in errors})
        super().__init__(f"the dataset has {lines} invalid line{'s' if lines != 1 else ''}: {first}{more}")
        self.errors = errors

    @property
    def extra(self) -> dict[str, Any]:
        return {"errors": [e.as_dict() for e in self.errors[:MAX_REPORTED]]}


def format_of(filename: str = "", content_type: str = "", declared: str = "") -> str:
    """The upload's format: declared (``jsonl``/``csv``), else from the file name or content type."""
    declared = declared.lower().strip()
    if declared:
        if declared not in FORMATS:
            raise InvalidInput(f"type must be 'jsonl' or 'csv', not '{declared}'")
        return declared
    if filename.lower().endswith(".csv") or "csv" in content_type:
        return CSV
    return JSONL


def parse(content: bytes, fmt: str) -> tuple[list[ParsedExample], list[LineError]]:
    """Examples and line errors of an upload (line numbers as an editor shows them)."""
    if len(content) > settings.EVALUATION_MAX_UPLOAD_BYTES:
        raise PayloadTooLarge(
            f"the dataset is {len(content)} bytes; at most {settings.EVALUATION_MAX_UPLOAD_BYTES}"
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the dataset is not UTF-8 text: {error}") from None
    examples, errors = _parse_csv(text) if fmt == CSV else _parse_jsonl(text)
    if not examples and not errors:
        raise InvalidInput("the dataset has no examples")
    if len(examples) > settings.EVALUATION_MAX_EXAMPLES:
        raise InvalidInput(
            f"the dataset has {len(examples)} examples; at most {settings.EVALUATION_MAX_EXAMPLES}"
        )
    return examples, errors


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError(name)))
    except (ValueError, RecursionError) as error:
        raise ValueError(f"{what} is not valid JSON: {error}") from None


def _example(line: int, value: Any) -> ParsedExample:
    if isinstance(value, dict) and "input" in value and set(value) <= ENVELOPE:
        metadata = value.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ValueError("metadata must be a JSON object")
        return ParsedExample(line, value["input"], value.get("expected"), metadata)
    return ParsedExample(line, value)


def _parse_jsonl(text: str) -> tuple[list[ParsedExample], list[LineError]]:
    examples, errors = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            examples.append(_example(number, _json(raw, "the line")))
        except ValueError as error:
            errors.append(LineError(number, str(error)))
    return examples, errors


def _cell(text: str) -> Any:
    """A CSV cell: JSON when it parses (numbers, booleans, objects), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_csv(text: str) -> tuple[list[ParsedExample], list[LineError]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = reader.fieldnames or []
    if not columns:
        raise InvalidInput("the CSV has no header row")
    examples, errors = [], []
    for row in reader:
        number = reader.line_num
        try:
            if None in row:
                raise ValueError("the row has more cells than the header")
            metadata = _json(row["metadata"], "metadata") if row.get("metadata") else {}
            if not isinstance(metadata, dict):
                raise ValueError("metadata must be a JSON object")
            expected = _cell(row["expected"]) if row.get("expected") else None
            if "input" in columns:
                value = _json(row["input"] or "", "input")
            else:
                value = {
                    name: _cell(cell)
                    for name, cell in row.items()
                    if name not in ENVELOPE and cell not in (None, "")
                }
            examples.append(ParsedExample(number, value, expected, metadata))
        except ValueError as error:
            errors.append(LineError(number, str(error)))
    return examples, errors


def schema_version(skill: Skill, version: SkillVersion | None = None) -> SkillVersion | None:
    """The version whose input schema a dataset is checked against: the one given, else ``latest``,
    else the newest ready version."""
    if version is not None:
        return version
    tagged = skill.tags.select_related("version").filter(name=registry.DEFAULT_TAG).first()
    if tagged is not None:
        return tagged.version
    return skill.versions.filter(status=SkillVersion.READY).order_by("-created_at").first()


def check(examples: list[ParsedExample], schema: Any) -> list[LineError]:
    """One error per wrong field of every example's input (``line 3: name: field required``)."""
    errors = []
    for example in examples:
        for field_error in validation.field_errors(schema, example.input):
            errors.append(LineError(example.line, f"{field_error.path}: {field_error.message}"))
    return errors


def skill_for(user, namespace_name: str, skill_name: str, role: str = NamespaceGrant.VIEW) -> Skill:
    namespace = access.namespace_for(user, namespace_name, role)
    skill = Skill.objects.select_related("namespace").filter(namespace=namespace, name=skill_name).first()
    if skill is None or not skill.is_active:
        raise NotFound(f"skill '{namespace_name}/{skill_name}' does not exist")
    return skill


def create_dataset(
    user,
    namespace_name: str,
    skill_name: str,
    name: str,
    content: bytes,
    *,
    fmt: str = JSONL,
    description: str = "",
    replace: bool = False,
) -> Dataset:
    """Store a dataset of ``skill_name`` from an upload, or raise ``DatasetRejected`` listing every
    wrong line (nothing is stored then). ``replace``: an existing dataset of that name is replaced
    (refused while an evaluation uses it)."""
    skill = skill_for(user, namespace_name, skill_name, NamespaceGrant.INVOKE)
    try:
        Dataset._meta.get_field("name").run_validators(name)
    except Exception:  # noqa: BLE001 - Django's ValidationError: say it the API's way
        raise InvalidInput("the dataset name must be lowercase letters, digits, - and _ (max 63)") from None
    examples = validated(skill, content, fmt)
    try:
        with transaction.atomic():
            existing = Dataset.objects.filter(skill=skill, name=name).first()
            if existing is not None:
                if not replace:
                    raise Conflict(f"skill '{skill}' already has a dataset '{name}'")
                if existing.evaluations.exists():
                    raise Conflict(f"dataset '{name}' has evaluations; upload it under another name")
                existing.delete()
            dataset = Dataset.objects.create(skill=skill, name=name, description=description, created_by=user)
            store_examples(dataset, examples)
    except IntegrityError:
        raise Conflict(f"skill '{skill}' already has a dataset '{name}'") from None
    return dataset


def validated(skill: Skill, content: bytes, fmt: str) -> list[ParsedExample]:
    """The examples of an upload, or ``DatasetRejected`` with every wrong line (JSON and schema)."""
    examples, errors = parse(content, fmt)
    version = schema_version(skill)
    errors += check(examples, version.input_schema if version else None)
    if errors:
        raise DatasetRejected(sorted(errors, key=lambda e: e.line))
    return examples


def store_examples(dataset: Dataset, examples: list[ParsedExample]) -> None:
    Example.objects.bulk_create(
        [
            Example(
                dataset=dataset,
                position=index,
                input=example.input,
                expected=example.expected,
                metadata=example.metadata,
            )
            for index, example in enumerate(examples, start=1)
        ],
        batch_size=500,
    )


def datasets_for(user, skill: Skill | None = None):
    """Datasets the user may see, newest first, with their example counts."""
    from django.db.models import Count

    visible = Dataset.objects.filter(skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW))
    if skill is not None:
        visible = visible.filter(skill=skill)
    return visible.select_related("skill__namespace", "created_by").annotate(example_count=Count("examples"))


def dataset_for(user, dataset_id: int) -> Dataset:
    dataset = datasets_for(user).filter(pk=dataset_id).first()
    if dataset is None:
        raise NotFound(f"dataset '{dataset_id}' does not exist")
    return dataset
