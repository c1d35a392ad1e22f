"""Latency of a trivial skill: raw runtime vs POST /v1/skills/.../run on the embedded default.

Measured side by side in one run (the machine is shared and noisy: compare the ratios).
Also prints compile time, artifact size and deserialize time, and how two runs on two threads
compare with one (wasm calls release the GIL).

    .venv/bin/python benchmarks/run_latency.py [--runs 300]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runtime import Csi, Limits, Runtime  # noqa: E402
from skills import builder  # noqa: E402
from tests.distributed.cluster import free_port, start_gunicorn  # noqa: E402

INPUT = json.dumps({"name": "Ada"}).encode()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def raw_runtime(wasm: bytes, runs: int) -> tuple[list[float], dict[str, float]]:
    runtime = Runtime()
    started = time.perf_counter()
    compiled = runtime.compile(wasm)
    facts = {"compile_s": time.perf_counter() - started, "artifact_mb": len(compiled.artifact) / 1e6}
    loads = []
    for _ in range(5):
        started = time.perf_counter()
        skill = runtime.load(compiled.artifact)
        loads.append(time.perf_counter() - started)
    facts["deserialize_s"] = statistics.median(loads)
    limits, csi = Limits(), Csi()
    for _ in range(20):
        runtime.run(skill, INPUT, csi, limits)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        outcome = runtime.run(skill, INPUT, csi, limits)
        samples.append(time.perf_counter() - started)
        assert outcome.succeeded, outcome.error_message
    facts["threads_ratio"] = two_threads_vs_one(runtime, skill)
    return samples, facts


def two_threads_vs_one(runtime: Runtime, skill, runs: int = 100) -> float:
    def work():
        for _ in range(runs):
            runtime.run(skill, INPUT, Csi(), Limits())

    started = time.perf_counter()
    work()
    one = time.perf_counter() - started
    threads = [threading.Thread(target=work) for _ in range(2)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) / one


def live_server(wasm_path: Path, runs: int) -> list[float]:
    data = tempfile.mkdtemp(prefix="skill-kernel-bench-")
    env = {**os.environ, "SKILL_KERNEL_DATA": data, "DJANGO_SETTINGS_MODULE": "kernel_site.settings"}
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "register_skill", "bench", "hello", str(wasm_path)],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    create_user = (
        "from django.contrib.auth.models import User; User.objects.create_superuser('bench', '', 'x')"
    )
    subprocess.run([*manage, "shell", "-c", create_user], env=env, check=True, cwd=ROOT)
    token = subprocess.run(
        [*manage, "drf_create_token", "bench"], env=env, check=True, cwd=ROOT, capture_output=True, text=True
    ).stdout.split()[2]
    port = free_port()
    server = start_gunicorn(port, env, threads=8)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call() -> float:
            started = time.perf_counter()
            connection.request("POST", "/v1/skills/bench/hello/run", INPUT, headers)
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, body
            return time.perf_counter() - started

        for _ in range(20):
            call()
        return [call() for _ in range(runs)]
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    wasm_path = builder.build(ROOT / "examples" / "hello" / "hello.py")
    wasm = wasm_path.read_bytes()
    raw, facts = raw_runtime(wasm, args.runs)
    http_samples = live_server(wasm_path, args.runs)
    print(f"skill: examples/hello ({len(wasm) / 1e6:.1f} MB component, {args.runs} runs each)")
    print(
        f"compile (Cranelift): {facts['compile_s']:.2f} s   artifact: {facts['artifact_mb']:.1f} MB   "
        f"deserialize: {facts['deserialize_s'] * 1000:.0f} ms"
    )
    print(f"{'':24}{'p50 ms':>10}{'p95 ms':>10}")
    raw_p50, raw_p95 = percentile(raw, 0.5) * 1000, percentile(raw, 0.95) * 1000
    http_p50, http_p95 = percentile(http_samples, 0.5) * 1000, percentile(http_samples, 0.95) * 1000
    print(f"{'raw runtime':24}{raw_p50:>10.2f}{raw_p95:>10.2f}")
    print(f"{'POST .../run (HTTP)':24}{http_p50:>10.2f}{http_p95:>10.2f}")
    print(
        f"ratio end-to-end / raw: p50 {http_p50 / raw_p50:.2f}x (target <= 3x), p95 {http_p95 / raw_p95:.2f}x"
    )
    print(f"two runs on two threads vs one thread: {facts['threads_ratio']:.2f}x the time of one")


if __name__ == "__main__":
    main()
