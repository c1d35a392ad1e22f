"""Per-run cost of a trivial skill, from the wasmtime floor to POST .../run, each next to its target.

Measured side by side in one run (the machine is shared and noisy: compare the ratios):

1. The floor: a fresh isolated instance + a trivial run in the raw runtime, as before (instance
   made on the run's thread, default allocator) and as the kernel runs it now (spare instances
   made ahead, used stores dropped on the preparer's thread, wasmtime's pooling allocator).
   Per-run p50 with a short gap between runs (as a server sees them), back-to-back cost, and two
   threads' throughput vs one.
2. Embedded end to end: ``POST /v1/skills/.../run`` through gunicorn on the default settings
   (SQLite, in-process execution) vs the floor.
3. The first run after a start: a fresh gunicorn process on the same data, without and with the
   preload of tagged versions.
4. Memory: resident memory per cached skill (``--cached`` copies loaded, with the cache's byte
   bound) and per concurrent run (runs of a spinning skill at once).

    .venv/bin/python benchmarks/run_latency.py [--runs 300] [--quick]
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

from runtime import Csi, EngineSettings, Limits, Runtime, digest  # noqa: E402
from runtime.cache import ComponentCache  # noqa: E402
from skills import builder  # noqa: E402
from tests.distributed.cluster import free_port, start_gunicorn  # noqa: E402

INPUT = json.dumps({"name": "Ada"}).encode()
GAP_SECONDS = 0.005  # between sampled runs: a server's requests do not arrive back to back
BEFORE = EngineSettings(spare_instances=0, pooling=False)  # the runtime as it was
KERNEL = EngineSettings(spare_instances=2, pooling=True, pool_instances=64)  # kernel_site defaults


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


# -- 1. the floor ---------------------------------------------------------------------------------


def floor(artifact: bytes, runs: int, rounds: int) -> dict[str, dict[str, float]]:
    """Per configuration: p50 with gaps, back-to-back seconds per run, two threads' speed-up."""
    configs = {"before": BEFORE, "now": KERNEL}
    runtimes = {name: Runtime(settings) for name, settings in configs.items()}
    skills = {name: runtime.load(artifact) for name, runtime in runtimes.items()}
    samples: dict[str, dict[str, list[float]]] = {n: {"gap": [], "b2b": [], "two": []} for n in configs}

    def work(name: str, count: int) -> None:
        for _ in range(count):
            outcome = runtimes[name].run(skills[name], INPUT, Csi(), Limits())
            assert outcome.succeeded, outcome.error_message

    for name in configs:
        work(name, 30)
    per_round = max(20, runs // rounds)
    for _ in range(rounds):  # interleaved, so both see the same noise
        for name in configs:
            for _ in range(per_round):
                time.sleep(GAP_SECONDS)
                started = time.perf_counter()
                work(name, 1)
                samples[name]["gap"].append(time.perf_counter() - started)
            started = time.perf_counter()
            work(name, per_round)
            one = time.perf_counter() - started
            samples[name]["b2b"].append(one / per_round)
            threads = [threading.Thread(target=work, args=(name, per_round)) for _ in range(2)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            samples[name]["two"].append(2 * one / (time.perf_counter() - started))
    return {
        name: {
            "p50": statistics.median(s["gap"]),
            "p95": percentile(s["gap"], 0.95),
            "b2b": statistics.median(s["b2b"]),
            "two": statistics.median(s["two"]),
        }
        for name, s in samples.items()
    }


# -- 2. and 3. the kernel over HTTP ---------------------------------------------------------------


class Kernel:
    """A data directory with ``hello`` registered, and gunicorn processes started on it."""

    def __init__(self, wasm_path: Path) -> None:
        self.data = tempfile.mkdtemp(prefix="skill-kernel-bench-")
        self.env = {
            **os.environ,
            "SKILL_KERNEL_DATA": self.data,
            "SKILL_KERNEL_ENV": "development",
            "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
            "NAMESPACE_POLLER": "false",
            "LOG_LEVEL": "WARNING",
        }
        manage = [sys.executable, str(ROOT / "manage.py")]
        self._manage(manage, "migrate", "-v", "0")
        self._manage(manage, "register_skill", "bench", "hello", str(wasm_path))
        create_user = (
            "from django.contrib.auth.models import User; User.objects.create_superuser('bench', '', 'x')"
        )
        self._manage(manage, "shell", "-c", create_user)
        self.token = self._manage(manage, "drf_create_token", "bench").split()[2]

    def _manage(self, manage: list[str], *args: str) -> str:
        return subprocess.run(
            [*manage, *args], env=self.env, check=True, cwd=ROOT, capture_output=True, text=True
        ).stdout

    def start(self, **env: str):
        port = free_port()
        server = start_gunicorn(port, {**self.env, **env}, threads=8)
        return server, port

    def call(self, connection: http.client.HTTPConnection) -> float:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        started = time.perf_counter()
        connection.request("POST", "/v1/skills/bench/hello/run", INPUT, headers)
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        return time.perf_counter() - started


def end_to_end(kernel: Kernel, runs: int) -> list[float]:
    server, port = kernel.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        for _ in range(30):
            kernel.call(connection)
        samples = []
        for _ in range(runs):
            time.sleep(GAP_SECONDS)
            samples.append(kernel.call(connection))
        return samples
    finally:
        server.terminate()
        server.wait()


def first_runs(kernel: Kernel, starts: int) -> dict[str, float]:
    """Median of the first run's latency after ``starts`` fresh starts, with and without preload."""
    figures = {}
    for label, env in (("without preload", {"SKILL_PRELOAD": "false"}), ("with preload", {})):
        firsts = []
        for _ in range(starts):
            server, port = kernel.start(**env)
            try:
                firsts.append(kernel.call(http.client.HTTPConnection("127.0.0.1", port)))
            finally:
                server.terminate()
                server.wait()
        figures[label] = statistics.median(firsts)
    return figures


# -- 4. memory ------------------------------------------------------------------------------------


def memory_per_cached_skill(artifact: bytes, copies: int) -> tuple[float, int, int]:
    """(MiB per cached skill, entries kept, entries kept under a bound of a third of them)."""
    runtime = Runtime(KERNEL)
    cache: ComponentCache = ComponentCache(1 << 40, size_of=lambda skill: skill.size)
    before = rss_mb()
    for copy in range(copies):  # distinct deserialized components, as distinct skills would be
        cache.get(str(copy), lambda: runtime.load(artifact))
    per_skill = (rss_mb() - before) / copies
    bound = len(artifact) * (copies // 3)
    bounded: ComponentCache = ComponentCache(bound, size_of=lambda skill: skill.size)
    for copy in range(copies):
        bounded.get(str(copy), lambda: runtime.load(artifact))
    return per_skill, cache.stats.entries, bounded.stats.entries


def memory_per_concurrent_run(artifact: bytes, concurrency: int, settings: EngineSettings) -> float:
    """MiB of resident memory per run while ``concurrency`` runs spin at once."""
    runtime = Runtime(settings)
    skill = runtime.load(artifact)
    payload = json.dumps({"action": "loop", "seconds": 1.0}).encode()
    runtime.run(skill, json.dumps({"action": "echo"}).encode(), Csi(), Limits())
    time.sleep(0.5)
    idle = rss_mb()
    peaks = []
    threads = [
        threading.Thread(target=runtime.run, args=(skill, payload, Csi(), Limits()))
        for _ in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        peaks.append(rss_mb())
        time.sleep(0.05)
    return (max(peaks) - idle) / concurrency


def compiled(runtime: Runtime, wasm_path: Path) -> bytes:
    """The artifact of a built component, cached like the tests cache theirs (digest + engine key)."""
    wasm = wasm_path.read_bytes()
    cache = builder.cache_root() / "artifacts" / f"{digest(wasm)}-{runtime.artifact_key}.cwasm"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(runtime.compile(wasm).artifact)
    return cache.read_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="fewer samples: under a minute")
    args = parser.parse_args()
    runs, rounds, starts, copies = (args.runs, 3, 3, 100) if not args.quick else (90, 3, 1, 12)

    hello_path = builder.build(ROOT / "examples" / "hello" / "hello.py")
    sink_path = builder.build(ROOT / "tests" / "skills" / "kitchen_sink.py")
    hello = compiled(Runtime(), hello_path)
    sink = compiled(Runtime(), sink_path)
    print(f"skill: examples/hello ({hello_path.stat().st_size / 1e6:.1f} MB component), {runs} runs each\n")

    print("1. the floor: a fresh isolated instance + a trivial run (raw runtime)", flush=True)
    figures = floor(hello, runs, rounds)
    before, now = figures["before"], figures["now"]
    print(f"{'':34}{'p50':>10}{'p95':>10}{'back-to-back':>14}{'2 threads':>11}")
    for label, f in (("before (instance on the run's thread)", before), ("now (spares, pooling)", now)):
        p50, p95, b2b = f["p50"] * 1000, f["p95"] * 1000, f["b2b"] * 1000
        print(f"{label:34.34}{p50:>9.2f} {p95:>9.2f} {b2b:>10.2f} ms{f['two']:>10.2f}x")
    cheaper = before["p50"] / now["p50"]
    print(f"   per-run p50 {cheaper:.2f}x cheaper (target >= 3x: {verdict(cheaper >= 3)})")
    scaled = now["two"]
    print(f"   two threads {scaled:.2f}x one thread's throughput (target >= 1.7x: {verdict(scaled >= 1.7)})")
    print(f"   back-to-back (CPU per run) {before['b2b'] / now['b2b']:.2f}x cheaper")

    print("\n2. embedded end to end: POST /v1/skills/bench/hello/run (gunicorn, SQLite)", flush=True)
    kernel = Kernel(hello_path)
    http_samples = end_to_end(kernel, runs)
    http_p50 = statistics.median(http_samples)
    ratio = http_p50 / now["p50"]
    print(f"   p50 {ms(http_p50)}, p95 {ms(percentile(http_samples, 0.95))}")
    print(f"   {ratio:.2f}x the floor now (target <= 1.5x: {verdict(ratio <= 1.5)})")
    print(f"   {http_p50 / before['p50']:.2f}x the floor before")

    print("\n3. the first run after a start (fresh gunicorn process, same data)", flush=True)
    first = first_runs(kernel, starts)
    for label, seconds in first.items():
        print(f"   {label}: {ms(seconds)}")
    print(f"   target <= 50 ms: {verdict(first['with preload'] <= 0.05)}")

    print("\n4. memory (resident)", flush=True)
    per_skill, kept, bounded = memory_per_cached_skill(hello, copies)
    print(f"   per cached skill: {per_skill:.1f} MiB ({kept} distinct components cached in one process)")
    holds = verdict(bounded <= copies // 3)
    print(f"   a cache bounded at a third of them keeps {bounded} of {copies} (byte bound holds: {holds})")
    for label, settings in (("before", BEFORE), ("now", KERNEL)):
        per_run = memory_per_concurrent_run(sink, 8, settings)
        print(f"   per concurrent run ({label}): {per_run:.1f} MiB (8 runs spinning at once)")


if __name__ == "__main__":
    main()
