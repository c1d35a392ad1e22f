"""Reading an evaluation: the per-example table (versions side by side, with diffs), aggregate
scores with 95% confidence intervals, and exports (CSV, JSON).

Pass rates get the Wilson score interval (sound at 0 % and 100 % and for small samples);
measurements (latency, tokens, numeric differences) the mean with Student's t interval.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from skills.evaluations import evaluators
from skills.evaluations.models import Evaluation, EvaluationResult, Promotion
from skills.models import SkillVersion

Z95 = 1.959964
# Two-sided 95% quantiles of Student's t for 1..30 degrees of freedom; the normal beyond.
_T95 = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
]  # fmt: skip


def wilson(passed: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a pass rate ``passed / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = passed / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if passed == 0 else max(0.0, centre - half)
    high = 1.0 if passed == n else min(1.0, centre + half)
    return (low, high)


def t_interval(values: list[float]) -> tuple[float, float]:
    """Mean ± t·s/√n; a single value has no spread to estimate (the interval is the value)."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return (mean, mean)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = _T95[n - 2] if n - 1 <= len(_T95) else Z95
    half = t * sd / math.sqrt(n)
    return (mean - half, mean + half)


def versions_of(evaluation: Evaluation) -> list[SkillVersion]:
    """The evaluated versions, oldest first (the order of the columns), with their tags."""
    versions = list(evaluation.versions.prefetch_related("tags").order_by("created_at"))
    for version in versions:
        version.tag_names = sorted(tag.name for tag in version.tags.all())
    return versions


@dataclass
class Aggregate:
    key: str
    label: str
    version_id: int
    unit: str
    n: int  # cases the evaluator applied to
    passed: int | None  # None: a measurement without a pass threshold
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    mean: float | None
    mean_low: float | None
    mean_high: float | None
    not_applicable: int


def _label(config: dict[str, Any]) -> str:
    evaluator = evaluators.REGISTRY[config["name"]]
    path = (config.get("options") or {}).get("path")
    return f"{evaluator.label} ({path})" if path not in (None, "") else evaluator.label


def aggregates(evaluation: Evaluation) -> list[Aggregate]:
    """One aggregate per evaluator and version, in the evaluation's evaluator order."""
    rows = (
        EvaluationResult.objects.filter(evaluation=evaluation)
        .exclude(status="")
        .values_list("version_id", "scores")
    )
    by_version: dict[int, list[dict]] = {}
    for version_id, scores in rows:
        by_version.setdefault(version_id, []).append(scores)
    found = []
    for config in evaluation.evaluators:
        key = evaluators.key_of(config)
        for version in versions_of(evaluation):
            scores = [s.get(key) or {} for s in by_version.get(version.pk, [])]
            checks = [s["passed"] for s in scores if s.get("passed") is not None]
            values = [float(s["value"]) for s in scores if s.get("value") is not None]
            applied = [s for s in scores if s.get("passed") is not None or s.get("value") is not None]
            passed = sum(checks) if checks else None
            low, high = wilson(sum(checks), len(checks)) if checks else (None, None)
            mean_low, mean_high = t_interval(values) if values else (None, None)
            if values and min(values) >= 0 and mean_low < 0:
                mean_low = 0.0  # durations and token counts are never negative
            found.append(
                Aggregate(
                    key=key,
                    label=_label(config),
                    version_id=version.pk,
                    unit=evaluators.REGISTRY[config["name"]].unit,
                    n=len(applied),
                    passed=passed,
                    rate=(sum(checks) / len(checks)) if checks else None,
                    rate_low=low,
                    rate_high=high,
                    mean=(sum(values) / len(values)) if values else None,
                    mean_low=mean_low,
                    mean_high=mean_high,
                    not_applicable=len(scores) - len(applied),
                )
            )
    return found


def _pretty(output: str) -> str:
    try:
        return json.dumps(json.loads(output), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return output


def diff_lines(before: str, after: str) -> list[dict[str, str]]:
    """A line diff of two outputs (pretty JSON): ``{"kind": "same"|"add"|"del", "text"}``."""
    lines = []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        code, text = line[:2], line[2:]
        if code == "? ":
            continue
        lines.append({"kind": {"+ ": "add", "- ": "del"}.get(code, "same"), "text": text})
    return lines


@dataclass
class Cell:
    result: EvaluationResult
    output: str  # pretty JSON, or the error
    scores: list[tuple[str, dict]]  # (label, score) in evaluator order
    diff: list[dict[str, str]] | None  # against the first version's output, when they differ


@dataclass
class Row:
    position: int
    input: str
    expected: str | None
    cells: list[Cell]
    differs: bool


def table(
    evaluation: Evaluation, *, offset: int = 0, limit: int = 100, only_differences: bool = False
) -> list[Row]:
    """Rows of examples ``offset``..``offset+limit``, each with one cell per version."""
    versions = versions_of(evaluation)
    order = {v.pk: i for i, v in enumerate(versions)}
    labelled = [(evaluators.key_of(c), _label(c)) for c in evaluation.evaluators]
    positions = list(
        evaluation.dataset.examples.order_by("position").values_list("pk", flat=True)[offset : offset + limit]
    )
    results = (
        EvaluationResult.objects.filter(evaluation=evaluation, example_id__in=positions)
        .select_related("example", "run")
        .order_by("example__position")
    )
    grouped: dict[int, list[EvaluationResult]] = {}
    for result in results:
        grouped.setdefault(result.example_id, []).append(result)
    rows = []
    for example_id in positions:
        cells_results = sorted(grouped.get(example_id, []), key=lambda r: order.get(r.version_id, 0))
        if not cells_results:
            continue
        example = cells_results[0].example
        cells, first = [], None
        for result in cells_results:
            run = result.run
            if run is None:
                text = "(not run)"
            elif run.output:
                text = _pretty(run.output)
            else:
                text = (
                    f"{run.status}: {run.error_kind} {run.error_message[:300]}".strip()
                    if run.is_terminal
                    else run.status
                )
            scores = [(label, result.scores.get(key) or {}) for key, label in labelled]
            diff = None
            if first is None:
                first = text
            elif text != first:
                diff = diff_lines(first, text)
            cells.append(Cell(result, text, scores, diff))
        differs = any(cell.diff for cell in cells)
        if only_differences and not differs:
            continue
        rows.append(
            Row(
                position=example.position,
                input=json.dumps(example.input, ensure_ascii=False),
                expected=json.dumps(example.expected, ensure_ascii=False)
                if example.expected is not None
                else None,
                cells=cells,
                differs=differs,
            )
        )
    return rows


def promotions(evaluation: Evaluation) -> list[Promotion]:
    return list(evaluation.promotions.select_related("version", "previous_version", "promoted_by"))


# -- exports ------------------------------------------------------------------------------------


def _results_for_export(evaluation: Evaluation):
    return (
        EvaluationResult.objects.filter(evaluation=evaluation)
        .select_related("example", "version", "run")
        .order_by("example__position", "version__created_at")
        .iterator(chunk_size=1000)
    )


def export_csv(evaluation: Evaluation) -> str:
    """One row per example and version: input, expected, output, run, and each score."""
    keys = [evaluators.key_of(c) for c in evaluation.evaluators]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = ["example", "version", "status", "run_id", "duration_ms", "input", "expected", "output"]
    for key in keys:
        header += [f"{key}.passed", f"{key}.value", f"{key}.detail"]
    writer.writerow(header)
    for result in _results_for_export(evaluation):
        run = result.run
        row = [
            result.example.position,
            result.version.digest,
            result.status or (run.status if run else "pending"),
            str(run.pk) if run else "",
            run.duration_ms if run and run.duration_ms is not None else "",
            json.dumps(result.example.input, ensure_ascii=False),
            json.dumps(result.example.expected, ensure_ascii=False)
            if result.example.expected is not None
            else "",
            run.output if run else "",
        ]
        for key in keys:
            score = result.scores.get(key) or {}
            row += [_cell(score.get("passed")), _cell(score.get("value")), score.get("detail", "")]
        writer.writerow(row)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def export_json(evaluation: Evaluation) -> dict[str, Any]:
    """The evaluation, its aggregates and every result (the API's ``results`` answer too)."""
    versions = {v.pk: v.digest for v in versions_of(evaluation)}
    return {
        "evaluation": summary(evaluation),
        "aggregates": [asdict(a) | {"version": versions.get(a.version_id)} for a in aggregates(evaluation)],
        "results": [
            {
                "example": result.example.position,
                "version": result.version.digest,
                "status": result.status or (result.run.status if result.run else "pending"),
                "run_id": str(result.run_id) if result.run_id else None,
                "duration_ms": result.run.duration_ms if result.run else None,
                "input": result.example.input,
                "expected": result.example.expected,
                "output": _json_or_text(result.run.output) if result.run and result.run.output else None,
                "scores": result.scores,
            }
            for result in _results_for_export(evaluation)
        ],
    }


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def summary(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "id": evaluation.pk,
        "skill": evaluation.skill.qualified_name,
        "dataset": evaluation.dataset.name,
        "status": evaluation.status,
        "versions": [v.digest for v in versions_of(evaluation)],
        "evaluators": evaluation.evaluators,
        "concurrency": evaluation.concurrency,
        "total": evaluation.total,
        "created_by": evaluation.created_by.username if evaluation.created_by else None,
        "created_at": evaluation.created_at.isoformat(),
        "started_at": evaluation.started_at.isoformat() if evaluation.started_at else None,
        "finished_at": evaluation.finished_at.isoformat() if evaluation.finished_at else None,
        "error_message": evaluation.error_message,
    }
