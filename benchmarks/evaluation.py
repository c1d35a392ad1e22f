"""Examples per second of an evaluation, embedded and distributed, against the raw runtime's rate.

The skill is the kitchen-sink test skill echoing each example's payload; evaluators exact match
and latency. Measured one after the other on the same (shared, noisy) machine: compare ratios.

* raw runtime: ``Runtime.run`` in a loop (one thread, then ``--concurrency`` threads), no
  database, no evaluation: the ceiling.
* embedded: ``runner.drive`` of an evaluation on SQLite, runs on the embedded pool, every example
  a stored Run with its result and scores.
* distributed: the same through the REST API of a loopback cluster (PostgreSQL, Redis, gunicorn,
  one Celery worker with 16 threads), the driver a Celery task (skip with ``--no-distributed``).

    .venv/bin/python benchmarks/evaluation.py [--examples 1000] [--concurrency 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ARTIFACT_ROOT", str(Path.home() / ".cache" / "skill-kernel" / "test-storage"))
os.environ.setdefault("SKILL_KERNEL_DATA", tempfile.mkdtemp(prefix="skill-kernel-bench-"))
os.environ.setdefault("SKILL_KERNEL_ENV", "development")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kernel_site.settings")


def examples(count: int) -> bytes:
    lines = [
        {"input": {"action": "echo", "payload": i}, "expected": {"action": "echo", "result": i}}
        for i in range(count)
    ]
    return "\n".join(json.dumps(line) for line in lines).encode()


def raw_rates(version, count: int, threads: int) -> tuple[float, float]:
    """Runs per second of the bare runtime: one thread, then ``threads`` threads."""
    from runtime import Csi, Limits
    from skills.services import execution

    skill = execution.load(version)
    runtime = execution.runtime()
    inputs = [json.dumps({"action": "echo", "payload": i}).encode() for i in range(count)]
    for body in inputs[:20]:
        runtime.run(skill, body, Csi(), Limits())
    started = time.perf_counter()
    for body in inputs:
        assert runtime.run(skill, body, Csi(), Limits()).succeeded
    single = count / (time.perf_counter() - started)

    chunks = [inputs[n::threads] for n in range(threads)]

    def work(chunk):
        for body in chunk:
            runtime.run(skill, body, Csi(), Limits())

    workers = [threading.Thread(target=work, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return single, count / (time.perf_counter() - started)


def embedded(count: int, concurrency: int) -> dict[str, float]:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from skills import builder
    from skills.evaluations import datasets, runner
    from skills.evaluations.models import Evaluation
    from skills.services import registry

    call_command("migrate", verbosity=0)
    wasm = builder.build(ROOT / "tests" / "skills" / "kitchen_sink.py").read_bytes()
    version = registry.register_version("bench", "sink", wasm).version
    assert version.status == "ready", version.failure_reason
    user = User.objects.create_superuser("bench", "", "x")
    single, threaded = raw_rates(version, count, concurrency)

    dataset = datasets.create_dataset(user, "bench", "sink", "bench", examples(count))
    warm = datasets.create_dataset(user, "bench", "sink", "warm", examples(20))
    runner.drive(runner.create_evaluation(user, warm, [version.pk], ["exact_match"], start_now=False).pk)
    evaluation = runner.create_evaluation(
        user, dataset, [version.pk], ["exact_match", "latency"], concurrency=concurrency, start_now=False
    )
    started = time.perf_counter()
    runner.drive(evaluation.pk)
    seconds = time.perf_counter() - started
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.FINISHED, evaluation.error_message
    passed = evaluation.results.filter(scores__exact_match__passed=True).count()
    assert passed == count, f"{passed} of {count} passed"
    return {
        "raw_1_thread": single,
        "raw_threads": threaded,
        "embedded": count / seconds,
        "embedded_s": seconds,
    }


def distributed(count: int, concurrency: int) -> dict[str, float]:
    import httpx

    from skills import builder
    from tests.distributed.cluster import Cluster

    skills = {
        name: builder.build(ROOT / "tests" / "skills" / f"{name}.py")
        for name in ("kitchen_sink", "stream_skill")
    }
    cluster = Cluster(skills)
    try:
        cluster.start_worker(threads=16)
        headers = {"Authorization": f"Bearer {cluster.tokens['admin']}"}
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=120) as client:

            def evaluate(name: str, body: bytes) -> float:
                upload = client.post(f"/api/v1/skills/test/sink/datasets?name={name}", content=body)
                assert upload.status_code == 201, upload.text
                payload = {
                    "dataset": upload.json()["id"],
                    "versions": ["latest"],
                    "evaluators": ["exact_match", "latency"],
                    "concurrency": concurrency,
                }
                started = time.perf_counter()
                created = client.post("/api/v1/evaluations", json=payload)
                assert created.status_code == 201, created.text
                while True:
                    state = client.get(created.json()["url"]).json()
                    if state["status"] in ("finished", "failed", "cancelled"):
                        break
                    time.sleep(0.05)
                assert state["status"] == "finished", state
                return time.perf_counter() - started

            evaluate("warm", examples(20))
            seconds = evaluate("bench", examples(count))
        return {"distributed": count / seconds, "distributed_s": seconds}
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument(
        "--concurrency", type=int, default=8, help="runs in flight (embedded pool: 8 threads)"
    )
    parser.add_argument("--quick", action="store_true", help="200 examples, embedded only")
    parser.add_argument("--no-distributed", action="store_true")
    args = parser.parse_args()
    count = 200 if args.quick else args.examples
    figures = embedded(count, args.concurrency)
    if not (args.quick or args.no_distributed):
        figures |= distributed(count, args.concurrency)
    print(
        f"evaluation of {count} examples (echo skill, exact match + latency), concurrency {args.concurrency}"
    )
    raw = figures["raw_1_thread"]
    print(f"  raw runtime, 1 thread          {raw:8.1f} runs/s")
    print(f"  raw runtime, {args.concurrency} threads         {figures['raw_threads']:8.1f} runs/s")
    for mode in ("embedded", "distributed"):
        if mode in figures:
            rate, seconds = figures[mode], figures[f"{mode}_s"]
            print(
                f"  evaluation, {mode:<12}       {rate:8.1f} examples/s  ({seconds:.1f} s)"
                f"  = {rate / raw:.2f} x raw (1 thread)"
            )


if __name__ == "__main__":
    main()
