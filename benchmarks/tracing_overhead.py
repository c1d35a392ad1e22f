"""Overhead of tracing on a trivial run: the kernel's execute path traced vs untraced, in one process.

Each sample is ``running.execute_run`` of a fresh Run row (claim, load from the component
cache, fresh Store, run, store the outcome): untraced with ``TRACE_ENABLED`` off, traced with
the skill.execute span, CSI spans, metrics and the database copy of the spans (their batched
write is included: each traced block ends with a flush). Blocks alternate so machine noise hits
both sides alike; the ratio of medians is the figure to quote.

    .venv/bin/python benchmarks/tracing_overhead.py [--runs 300] [--action echo|select_language]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SKILL_KERNEL_DATA", tempfile.mkdtemp(prefix="skill-kernel-bench-"))
os.environ.setdefault(
    "ARTIFACT_ROOT", str(Path.home() / ".cache" / "skill-kernel" / "test-storage")
)  # reuse the test suite's compiled artifacts when present
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kernel_site.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from skills import builder, telemetry  # noqa: E402
from skills.models import Namespace, Run, Span  # noqa: E402
from skills.services import registry, running  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_run(version, body: str, user) -> float:
    run = Run.objects.create(skill=version.skill, version=version, caller=user, input=body, tag="latest")
    started = time.perf_counter()
    finished = running.execute_run(run.pk)
    elapsed = time.perf_counter() - started
    assert finished is not None and finished.status == Run.SUCCEEDED, finished and finished.error_message
    return elapsed


def runtime_level(version, body: str, user, runs: int, block: int) -> dict[bool, list[float]]:
    """The bare run (fresh Store + ``run``, no database writes of its own) with and without its
    span, CSI observer, metrics and database copy: tracing against the cheapest run there is."""
    from skills.services import execution

    run = Run.objects.select_related("skill__namespace", "version").get(
        pk=Run.objects.create(skill=version.skill, version=version, caller=user, input=body).pk
    )
    skill, limits, data = execution.load(version), execution.limits_for(version.skill), body.encode()
    samples: dict[bool, list[float]] = {True: [], False: []}
    while len(samples[True]) < runs:
        for enabled in (False, True):
            settings.TRACE_ENABLED = enabled
            block_started = time.perf_counter()
            inner = []
            for _ in range(block):
                started = time.perf_counter()
                with telemetry.run_span(run) as traced:
                    csi = execution.csi_for(run.skill.namespace)
                    outcome = execution.runtime().run(skill, data, csi, limits)
                    traced.finish(outcome)
                inner.append(time.perf_counter() - started)
            if enabled:
                telemetry.flush()  # the spans' database write belongs to the traced side
                extra = (time.perf_counter() - block_started - sum(inner)) / len(inner)
                inner = [value + extra for value in inner]
            samples[enabled].extend(inner)
    settings.TRACE_ENABLED = True
    return samples


def execute_level(version, body: str, user, runs: int, block: int) -> dict[bool, list[float]]:
    """``execute_run`` of fresh Run rows, alternating untraced and traced blocks."""
    samples: dict[bool, list[float]] = {True: [], False: []}
    while len(samples[True]) < runs:
        for enabled in (False, True):
            settings.TRACE_ENABLED = enabled
            block_started = time.perf_counter()
            inner = [one_run(version, body, user) for _ in range(block)]
            if enabled:
                telemetry.flush()  # spread the batched span write over the block's runs
                extra = (time.perf_counter() - block_started - sum(inner)) / len(inner)
                inner = [value + extra for value in inner]
            samples[enabled].extend(inner)
    settings.TRACE_ENABLED = True
    return samples


def report(title: str, samples: dict[bool, list[float]]) -> None:
    traced, untraced = samples[True], samples[False]
    ratio = statistics.median(traced) / statistics.median(untraced)
    print(title)
    for label, values in (("untraced", untraced), ("traced", traced)):
        print(
            f"  {label:9} median {statistics.median(values) * 1000:6.2f} ms   "
            f"p90 {percentile(values, 0.9) * 1000:6.2f} ms"
        )
    print(f"  ratio traced/untraced (median): {ratio:.3f}x  (target < 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="samples per side")
    parser.add_argument("--block", type=int, default=25, help="runs per alternating block")
    parser.add_argument("--action", default="echo", help="kitchen-sink action (echo, select_language)")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    wasm = builder.build(ROOT / "tests" / "skills" / "kitchen_sink.py").read_bytes()
    Namespace.objects.get_or_create(name="bench")
    version = registry.register_version("bench", "sink", wasm).version
    assert version.status == "ready", version.failure_reason
    user, _ = User.objects.get_or_create(username="bench")
    body = json.dumps({"action": args.action, "text": "Das ist ein kurzer deutscher Satz", "payload": 1})

    for enabled in (True, False):  # warm both paths (component cache, lingua, imports)
        settings.TRACE_ENABLED = enabled
        for _ in range(10):
            one_run(version, body, user)
    settings.TRACE_ENABLED = True
    telemetry.flush()

    executed = execute_level(version, body, user, args.runs, args.block)
    spans = Span.objects.filter(run__skill=version.skill).count() / (args.runs + 10)
    report(
        f"tracing overhead, kitchen-sink '{args.action}', {args.runs} runs per side, "
        f"execute_run: claim, run, store ({spans:.1f} spans stored per traced run)",
        executed,
    )
    report(
        "same run at the runtime level: fresh Store + run, no database",
        runtime_level(version, body, user, args.runs, args.block),
    )


if __name__ == "__main__":
    main()
