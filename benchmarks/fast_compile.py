"""The fast compile tier: Winch vs Cranelift on one SDK-built component, side by side.

Compile time, artifact size, load (deserialize) time, the run time of a trivial call and of a
call with a large input and output, and CPU-bound speed (Python loop iterations in a fixed
time). Each figure is the p50 of several repetitions, the two tiers interleaved so the shared,
noisy machine affects both alike; every ratio is **Winch / Cranelift** (for times and sizes
below 1 is better for Winch; for loop iterations below 1 means Winch is slower).

    .venv/bin/python benchmarks/fast_compile.py [--compiles 3] [--runs 15]

``benchmarks/deploy.py`` imports :func:`compile_ratio`, :func:`run_ratio` and :func:`spin_ratio`.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime import Csi, Limits, LoadedSkill, Runtime  # noqa: E402

TIERS = ("cranelift", "winch")
LIMITS = Limits(timeout=60, memory_bytes=512 * 1024 * 1024)


def _document(items: int) -> str:
    return json.dumps(
        [{"id": i, "name": f"item {i}", "tags": ["a", "b", "ü"], "score": i / 7} for i in range(items)]
    )


# kitchen_sink inputs. A large input and output mostly measure the host: wasmtime-py lifts and
# lowers ``list<u8>`` in Python (~1.5 us a byte; echoing the same 215 KB takes as long as parsing
# it), the same on both tiers. kitchen_sink has no fixed-work CPU-bound action; its ``loop`` spins
# for a fixed time, so the CPU-bound figure is iterations per time: spin_ratio.
INPUTS: dict[str, bytes] = {
    "trivial (echo)": json.dumps({"action": "echo", "payload": 1}).encode(),
    "large I/O (json 215 KB)": json.dumps({"action": "json", "text": _document(2_000)}).encode(),
}


def _interleaved(reps: int, work: dict[str, Callable[[], Any]]) -> dict[str, list[float]]:
    """Seconds of each named callable, ``reps`` rounds, the order alternating every round."""
    samples: dict[str, list[float]] = {name: [] for name in work}
    names = list(work)
    for round_ in range(reps):
        for name in names if round_ % 2 == 0 else reversed(names):
            started = time.perf_counter()
            work[name]()
            samples[name].append(time.perf_counter() - started)
    return samples


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def compile_ratio(
    wasm: bytes, *, reps: int = 3, load_reps: int = 5, runtime: Runtime | None = None
) -> dict[str, Any]:
    """Compile (``reps`` times per tier, interleaved), artifact size and load time of both tiers.

    Returns seconds/bytes per tier, ``*_ratio`` = Winch / Cranelift, and ``artifacts`` (tier ->
    (artifact bytes, artifact key)) to pass on to :func:`run_ratio`.
    """
    runtime = runtime or Runtime()
    compiled: dict[str, Any] = {}

    def compile_with(tier: str) -> Callable[[], None]:
        def work() -> None:
            compiled[tier] = runtime.compile(wasm, fast=tier == "winch")

        return work

    compiles = _interleaved(reps, {tier: compile_with(tier) for tier in TIERS})
    if compiled["winch"].artifact_key != runtime.fast_artifact_key:
        raise RuntimeError("Winch could not compile the component; fast=True fell back to Cranelift")
    artifacts = {tier: (compiled[tier].artifact, compiled[tier].artifact_key) for tier in TIERS}
    loads = _interleaved(
        load_reps, {tier: lambda tier=tier: runtime.load(*artifacts[tier]) for tier in TIERS}
    )
    result: dict[str, Any] = {"artifacts": artifacts, "compile_reps": reps, "load_reps": load_reps}
    for tier in TIERS:
        result[f"{tier}_compile_s"] = _p50(compiles[tier])
        result[f"{tier}_artifact_bytes"] = len(artifacts[tier][0])
        result[f"{tier}_load_s"] = _p50(loads[tier])
    for figure in ("compile_s", "artifact_bytes", "load_s"):
        result[f"{figure.rsplit('_', 1)[0]}_ratio"] = (
            result[f"winch_{figure}"] / result[f"cranelift_{figure}"]
        )
    return result


def _loaded(
    wasm: bytes, runtime: Runtime, artifacts: dict[str, tuple[bytes, str]] | None
) -> dict[str, LoadedSkill]:
    if artifacts is None:
        artifacts = {}
        for tier in TIERS:
            compiled = runtime.compile(wasm, fast=tier == "winch")
            artifacts[tier] = (compiled.artifact, compiled.artifact_key)
    skills = {tier: runtime.load(*artifacts[tier]) for tier in TIERS}
    if not skills["winch"].fast:
        raise RuntimeError("the Winch artifact did not load as a fast skill")
    return skills


def _call(runtime: Runtime, skill: LoadedSkill, data: bytes, outputs: dict, tier: str) -> None:
    outcome = runtime.run(skill, data, Csi(), LIMITS)
    if not outcome.succeeded:
        raise RuntimeError(f"{tier}: {outcome.error_kind} {outcome.error_message}")
    outputs[tier] = outcome.output


def run_ratio(
    wasm: bytes,
    inputs: dict[str, bytes],
    *,
    reps: int = 15,
    warmup: int = 2,
    runtime: Runtime | None = None,
    artifacts: dict[str, tuple[bytes, str]] | None = None,
) -> dict[str, dict[str, float]]:
    """p50 seconds of ``runtime.run`` per input on each tier (interleaved) and Winch / Cranelift.

    ``artifacts`` from :func:`compile_ratio` saves compiling again. Both tiers must give the same
    output for each input, else RuntimeError.
    """
    runtime = runtime or Runtime()
    skills = _loaded(wasm, runtime, artifacts)
    result: dict[str, dict[str, float]] = {}
    for name, data in inputs.items():
        outputs: dict[str, bytes | None] = {}
        work = {tier: functools.partial(_call, runtime, skills[tier], data, outputs, tier) for tier in TIERS}
        _interleaved(warmup, work)
        samples = _interleaved(reps, work)
        if outputs["winch"] != outputs["cranelift"]:
            raise RuntimeError(f"{name}: Winch and Cranelift outputs differ")
        figures = {f"{tier}_s": _p50(samples[tier]) for tier in TIERS}
        figures["ratio"] = figures["winch_s"] / figures["cranelift_s"]
        result[name] = figures
    return result


def spin_ratio(
    wasm: bytes,
    *,
    seconds: float = 0.5,
    reps: int = 7,
    runtime: Runtime | None = None,
    artifacts: dict[str, tuple[bytes, str]] | None = None,
) -> dict[str, float]:
    """kitchen_sink's ``loop`` counts iterations of a Python loop (one clock call each) for
    ``seconds``: p50 iterations per tier and Winch / Cranelift (below 1: Winch is slower)."""
    runtime = runtime or Runtime()
    skills = _loaded(wasm, runtime, artifacts)
    data = json.dumps({"action": "loop", "seconds": seconds}).encode()
    counts: dict[str, list[int]] = {tier: [] for tier in TIERS}

    def spin(tier: str) -> Callable[[], None]:
        def work() -> None:
            outcome = runtime.run(skills[tier], data, Csi(), LIMITS)
            if not outcome.succeeded:
                raise RuntimeError(f"loop on {tier}: {outcome.error_kind} {outcome.error_message}")
            counts[tier].append(json.loads(outcome.output)["result"])

        return work

    _interleaved(reps, {tier: spin(tier) for tier in TIERS})
    result = {f"{tier}_iterations": statistics.median(counts[tier]) for tier in TIERS}
    result["ratio"] = result["winch_iterations"] / result["cranelift_iterations"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compiles", type=int, default=3, help="compiles per tier (Cranelift ~10 s each)")
    parser.add_argument("--runs", type=int, default=15, help="timed calls per tier and input")
    parser.add_argument("--source", type=Path, default=ROOT / "tests" / "skills" / "kitchen_sink.py")
    args = parser.parse_args()
    from skills import builder  # Django-free; builds on a cache miss

    wasm = builder.build(args.source).read_bytes()
    runtime = Runtime()
    print(f"skill: {args.source.relative_to(ROOT)} ({len(wasm) / 1e6:.1f} MB component)")
    print(f"keys: {runtime.artifact_key} vs {runtime.fast_artifact_key}; ratios are Winch / Cranelift")
    facts = compile_ratio(wasm, reps=args.compiles, runtime=runtime)
    print(f"{'':32}{'Cranelift':>12}{'Winch':>12}{'ratio':>8}")
    rows = [
        (f"compile s (p50 of {args.compiles})", "compile_s", 1, "{:.2f}"),
        ("artifact MB", "artifact_bytes", 1e-6, "{:.1f}"),
        (f"load ms (p50 of {facts['load_reps']})", "load_s", 1000, "{:.0f}"),
    ]
    for label, figure, scale, fmt in rows:
        values = [fmt.format(facts[f"{tier}_{figure}"] * scale) for tier in TIERS]
        ratio = facts[f"winch_{figure}"] / facts[f"cranelift_{figure}"]
        print(f"{label:32}{values[0]:>12}{values[1]:>12}{ratio:>7.2f}x")
    runs = run_ratio(wasm, INPUTS, reps=args.runs, runtime=runtime, artifacts=facts["artifacts"])
    for name, figures in runs.items():
        label = f"run ms {name}"
        cranelift, winch = figures["cranelift_s"] * 1000, figures["winch_s"] * 1000
        print(f"{label:32}{cranelift:>12.1f}{winch:>12.1f}{figures['ratio']:>7.2f}x")
    spins = spin_ratio(wasm, runtime=runtime, artifacts=facts["artifacts"])
    print(
        f"{'loop iterations in 0.5 s':32}{spins['cranelift_iterations']:>12.0f}"
        f"{spins['winch_iterations']:>12.0f}{spins['ratio']:>7.2f}x  (higher is faster)"
    )
    print(f"CPU-bound: Winch code takes {1 / spins['ratio']:.2f}x Cranelift's time per loop iteration")


if __name__ == "__main__":
    main()
