"""Evaluators: small functions that score one run of one example. A registry maps names to them.

An evaluation stores its evaluators as ``[{"name": ..., "options": {...}}]``; each scores a
:class:`Case` to a :class:`Score`: ``passed`` (a check: exact match, schema, field, tolerance,
judge) and/or ``value`` (a measurement: latency in ms, tokens). ``None`` means "does not apply"
(no expected output, the run failed), which is counted apart from a failed check.

Paths into JSON (``path`` options) are dotted keys and list indexes: ``a.b.0`` is
``value["a"]["b"][0]``; the empty path is the whole value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from skills.models import Run, SkillVersion, Span
from skills.services import validation

MISSING = object()


@dataclass
class Case:
    input: Any
    expected: Any
    run: Run
    version: SkillVersion
    output: Any = None  # the run's JSON output (None when it failed)

    @property
    def succeeded(self) -> bool:
        return self.run.status == Run.SUCCEEDED


@dataclass
class Score:
    passed: bool | None = None
    value: float | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Evaluator:
    name: str
    label: str
    score: Callable[[Case, dict[str, Any]], Score]
    unit: str = ""  # of ``value``, for measurements
    needs_trace: bool = False  # reads the run's stored spans (scored again once they are written)
    options: dict[str, str] = field(default_factory=dict)  # option -> what it means (forms, docs)


REGISTRY: dict[str, Evaluator] = {}


def evaluator(name: str, label: str, **kwargs: Any):
    def register(function):
        REGISTRY[name] = Evaluator(name, label, function, **kwargs)
        return function

    return register


def key_of(config: dict[str, Any]) -> str:
    """The key of an evaluator in an evaluation's scores: its name, plus its path if it has one."""
    path = (config.get("options") or {}).get("path")
    return f"{config['name']}:{path}" if path not in (None, "") else config["name"]


def normalise(configs: list[Any]) -> list[dict[str, Any]]:
    """Evaluator configs from names or ``{"name", "options"}`` objects; unknown names raise ValueError."""
    result, seen = [], set()
    for config in configs:
        if isinstance(config, str):
            config = {"name": config}
        if not isinstance(config, dict) or config.get("name") not in REGISTRY:
            name = config.get("name") if isinstance(config, dict) else config
            raise ValueError(f"unknown evaluator '{name}'; known: {', '.join(REGISTRY)}")
        options = config.get("options") or {}
        if not isinstance(options, dict):
            raise ValueError(f"the options of evaluator '{config['name']}' must be an object")
        normal = {"name": config["name"], "options": options}
        if key_of(normal) in seen:
            raise ValueError(f"evaluator '{key_of(normal)}' is listed twice")
        seen.add(key_of(normal))
        result.append(normal)
    if not result:
        raise ValueError("choose at least one evaluator")
    return result


def score(config: dict[str, Any], case: Case) -> Score:
    """Score a case; an evaluator that raises scores a failed check with the error as detail."""
    try:
        return REGISTRY[config["name"]].score(case, config.get("options") or {})
    except Exception as error:  # noqa: BLE001 - one broken evaluator must not end the evaluation
        return Score(passed=False, detail=f"the evaluator failed: {type(error).__name__}: {error}")


def at_path(value: Any, path: str | None) -> Any:
    """``value`` at a dotted path (``a.b.0``), or MISSING."""
    if path in (None, ""):
        return value
    for step in str(path).split("."):
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif (
            isinstance(value, list) and re.fullmatch(r"-?\d+", step) and -len(value) <= int(step) < len(value)
        ):
            value = value[int(step)]
        else:
            return MISSING
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _not_run(case: Case) -> Score | None:
    if not case.succeeded:
        return Score(
            detail=f"the run {case.run.status}" + (f" ({case.run.error_kind})" if case.run.error_kind else "")
        )
    return None


def _wanted(case: Case, options: dict[str, Any]) -> Any:
    """What a field should be: ``options.value`` if given, else the expected output at the path."""
    if "value" in options:
        return options["value"]
    if case.expected is None:
        return MISSING
    return at_path(case.expected, options.get("path"))


@evaluator("exact_match", "Exact match")
def exact_match(case: Case, options: dict[str, Any]) -> Score:
    if case.expected is None:
        return Score(detail="no expected output")
    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    same = case.output == case.expected
    return Score(passed=same, detail="" if same else f"got {_short(case.output)}")


@evaluator(
    "json_schema",
    "JSON schema valid",
    options={"schema": "a JSON schema (default: the version's output schema)"},
)
def json_schema(case: Case, options: dict[str, Any]) -> Score:
    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    schema = options.get("schema") or case.version.output_schema
    if not schema:
        return Score(detail="no schema to check against")
    errors = validation.field_errors(schema, case.output)
    return Score(passed=not errors, detail="; ".join(f"{e.path}: {e.message}" for e in errors[:5]))


@evaluator(
    "field_equals",
    "Field equals",
    options={
        "path": "a.b.0 into the output",
        "value": "what it should be (default: the expected at the path)",
    },
)
def field_equals(case: Case, options: dict[str, Any]) -> Score:
    wanted = _wanted(case, options)
    if wanted is MISSING:
        return Score(detail="no expected value")
    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    got = at_path(case.output, options.get("path"))
    if got is MISSING:
        return Score(passed=False, detail=f"the output has no {options.get('path')}")
    return Score(
        passed=got == wanted, detail="" if got == wanted else f"got {_short(got)}, expected {_short(wanted)}"
    )


@evaluator(
    "field_contains",
    "Field contains",
    options={"path": "a.b.0 into the output", "value": "a substring or list item (default: the expected)"},
)
def field_contains(case: Case, options: dict[str, Any]) -> Score:
    wanted = _wanted(case, options)
    if wanted is MISSING:
        return Score(detail="no expected value")
    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    got = at_path(case.output, options.get("path"))
    if isinstance(got, str):
        found = str(wanted).lower() in got.lower() if options.get("ignore_case") else str(wanted) in got
    elif isinstance(got, (list, dict)):
        found = wanted in got
    else:
        return Score(
            passed=False, detail=f"{_short(got) if got is not MISSING else 'nothing'} is not text or a list"
        )
    return Score(passed=found, detail="" if found else f"{_short(wanted)} not in {_short(got)}")


@evaluator(
    "numeric_tolerance",
    "Numeric tolerance",
    options={
        "path": "a.b.0 into the output",
        "value": "the target (default: the expected at the path)",
        "tolerance": "allowed absolute difference (default 0)",
        "relative": "allowed difference as a fraction of the target (optional)",
    },
)
def numeric_tolerance(case: Case, options: dict[str, Any]) -> Score:
    wanted = _wanted(case, options)
    if wanted is MISSING or not _is_number(wanted):
        return Score(detail="no expected number")
    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    got = at_path(case.output, options.get("path"))
    if not _is_number(got):
        return Score(
            passed=False, detail=f"{_short(got) if got is not MISSING else 'nothing'} is not a number"
        )
    difference = abs(float(got) - float(wanted))
    allowed = max(
        float(options.get("tolerance") or 0), float(options.get("relative") or 0) * abs(float(wanted))
    )
    return Score(passed=difference <= allowed, value=difference, detail=f"off by {difference:g}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@evaluator("latency", "Latency", unit="ms", options={"max_ms": "passes at or under this many milliseconds"})
def latency(case: Case, options: dict[str, Any]) -> Score:
    if case.run.duration_ms is None:
        return Score(detail="the run has no duration")
    limit = options.get("max_ms")
    passed = None if limit in (None, "") else case.run.duration_ms <= float(limit)
    return Score(passed=passed, value=round(case.run.duration_ms, 3))


@evaluator(
    "token_cost",
    "Token cost",
    unit="tokens",
    needs_trace=True,
    options={
        "max_tokens": "passes at or under this many tokens",
        "price_per_1k": "price of 1,000 tokens, to show a cost",
    },
)
def token_cost(case: Case, options: dict[str, Any]) -> Score:
    """Input plus output tokens of every inference call, from the run's stored ``gen_ai`` spans."""
    attributes = Span.objects.filter(run=case.run).values_list("attributes", flat=True)
    spans = list(attributes)
    if not spans:
        return Score(detail="no trace stored for the run")
    tokens = sum(
        int(a.get("gen_ai.usage.input_tokens", 0)) + int(a.get("gen_ai.usage.output_tokens", 0))
        for a in spans
    )
    limit = options.get("max_tokens")
    passed = None if limit in (None, "") else tokens <= float(limit)
    detail = ""
    if options.get("price_per_1k") not in (None, ""):
        detail = f"cost {tokens / 1000 * float(options['price_per_1k']):.6f}"
    return Score(passed=passed, value=tokens, detail=detail)


DEFAULT_JUDGE_PROMPT = """You grade the output of an AI skill.
Input: {input}
Expected output: {expected}
Actual output: {output}
Is the actual output correct for the input? Reply PASS or FAIL, then one sentence why."""
_VERDICT = re.compile(r"\b(PASS|FAIL)\b")


@evaluator(
    "llm_judge",
    "LLM judge",
    options={
        "model": "the judge model (default EVALUATION_JUDGE_MODEL)",
        "prompt": "template with {input}, {output} and {expected}; the reply's last PASS or FAIL decides",
    },
)
def llm_judge(case: Case, options: dict[str, Any]) -> Score:
    """Ask a model through the namespace's CSI inference backend whether the output is right."""
    from runtime.csi.types import ChatParams, ChatRequest, Message
    from skills.services import csi

    if (skipped := _not_run(case)) is not None:
        return Score(passed=False, detail=skipped.detail)
    model = options.get("model") or settings.EVALUATION_JUDGE_MODEL
    if not model:
        return Score(detail="no judge model (set the option or EVALUATION_JUDGE_MODEL)")
    backend = csi.inference_for(case.run.skill.namespace)
    if backend is None:
        return Score(detail="inference is not configured on this kernel")
    prompt = judge_prompt(options.get("prompt") or DEFAULT_JUDGE_PROMPT, case)
    request = ChatRequest(model, [Message("user", prompt)], ChatParams(max_tokens=200, temperature=0.0))
    reply = backend.chat([request])[0].message.content or ""
    verdicts = _VERDICT.findall(reply)
    if not verdicts:
        return Score(detail=f"no PASS or FAIL in the judge's reply: {reply[:200]}")
    return Score(passed=verdicts[-1] == "PASS", detail=reply[:500])


def judge_prompt(template: str, case: Case) -> str:
    """The template with ``{input}``, ``{output}`` and ``{expected}`` as JSON (other braces kept)."""
    values = {
        "input": json.dumps(case.input, ensure_ascii=False),
        "output": json.dumps(case.output, ensure_ascii=False),
        "expected": json.dumps(case.expected, ensure_ascii=False),
    }
    return re.sub(r"\{(input|output|expected)\}", lambda m: values[m.group(1)], template)
