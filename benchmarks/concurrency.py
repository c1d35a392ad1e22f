"""Distributed mode under load: one Celery worker, PostgreSQL and Redis on loopback; prints figures.

1. 200 concurrent sync invocations whose CSI inference call takes 1 s (a loopback OpenAI-compatible
   server, model ``slow-model``): total wall time (target < 5 s; serial would be 200 s) and, while
   they are in flight, the p50/p99 latency of a trivial skill (echo; target p99 < 250 ms). Then the
   same echo probe once 200 runs are all executing and blocked in a 10 s call (``blocked-model``):
   the burst's figure includes admitting 200 requests on 2 shared cores, this one only the
   blocking.
2. Trivial skill (echo) over HTTP: throughput and p50, distributed vs embedded, and the ratio to
   the raw runtime (``Runtime.run`` in-process, no HTTP, no database).
3. Peak RSS of the worker with 10 distinct skills cached, and of a worker whose cache is bounded
   below their size (the byte bound holding).

The 10 distinct skills are the two test skills and 8 variants of the kitchen-sink component, each
with a custom section appended (different bytes and digest, same behaviour). The first run compiles
the variants (~11 s each); compiled artifacts are cached under ~/.cache/skill-kernel.

    .venv/bin/python benchmarks/concurrency.py [--inflight 200] [--worker-threads 220] [--quick]

``--quick`` (about a minute once the skills are built): 50 runs in flight, fewer echo requests,
no memory section (``benchmarks/run_latency.py`` prints memory per cached skill and per run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ARTIFACT_ROOT", str(Path.home() / ".cache" / "skill-kernel" / "test-storage"))
os.environ.setdefault("SKILL_KERNEL_DATA", tempfile.mkdtemp(prefix="skill-kernel-bench-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")

import httpx  # noqa: E402

from tests.distributed.cluster import Cluster, free_port, start_gunicorn  # noqa: E402
from tests.support.components import custom_section  # noqa: E402

VARIANTS = 8
REGISTER = """
import sys, django
django.setup()
from skills.services import registry
for name, path in zip(sys.argv[1::2], sys.argv[2::2]):
    version = registry.register_version("test", name, open(path, "rb").read()).version
    assert version.status == "ready", version.failure_reason
"""


def variants(kitchen_sink: Path) -> list[Path]:
    wasm = kitchen_sink.read_bytes()
    paths = []
    for n in range(VARIANTS):
        path = kitchen_sink.with_name(f"{kitchen_sink.stem}-variant{n}.wasm")
        if not path.exists():
            path.write_bytes(wasm + custom_section(b"skill-kernel-bench", f"variant {n}".encode()))
        paths.append(path)
    return paths


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of a process and its children, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU time (user + system) of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, frontier = {root_pid}, [root_pid]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(times.get(pid, 0.0) for pid in tree)


def cpu_per_request(pids: dict[str, int], load) -> tuple[tuple[float, float, float], dict[str, float]]:
    """``load()``'s figures, and the milliseconds of CPU each process tree spent per request."""
    before = {name: tree_cpu_seconds(pid) for name, pid in pids.items()}
    figures = load()
    requests = load.requests
    spent = {name: (tree_cpu_seconds(pid) - before[name]) * 1000 / requests for name, pid in pids.items()}
    return figures, spent


def echo_load(url: str, token: str, requests: int, concurrency: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of sync echo runs over HTTP."""
    latencies: list[float] = []

    def one(_):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
            for _ in range(requests // concurrency):
                started = time.perf_counter()
                response = client.post("/v1/skills/test/sink/run", json={"action": "echo", "payload": 1})
                assert response.status_code == 200, response.text
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(concurrency)))
    wall = time.perf_counter() - started
    return len(latencies) / wall, statistics.median(latencies) * 1000, percentile(latencies, 99) * 1000


def inflight_figures(cluster: Cluster, inflight: int) -> dict[str, float]:
    token = cluster.tokens["alice"]
    headers = {"Authorization": f"Bearer {token}"}
    barrier = threading.Barrier(inflight + 2)  # the slow callers, the echo probe, the timer
    statuses: list[int] = []
    done = threading.Event()

    def slow(_):
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=120) as client:
            barrier.wait()
            body = {"action": "complete", "model": "slow-model", "text": "hello"}
            statuses.append(client.post("/v1/skills/test/sink/run", json=body).status_code)

    echo_latencies: list[float] = []

    def trivial():
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=60) as client:
            barrier.wait()
            time.sleep(0.2)  # let the slow ones get in flight first
            while not done.is_set():
                started = time.perf_counter()
                response = client.post("/v1/skills/test/sink/run", json={"action": "echo", "payload": 1})
                if not done.is_set():
                    assert response.status_code == 200, response.text
                    echo_latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    probe = threading.Thread(target=trivial)
    probe.start()
    with ThreadPoolExecutor(inflight) as pool:
        futures = [pool.submit(slow, n) for n in range(inflight)]
        barrier.wait()
        started = time.perf_counter()
        for future in futures:
            future.result()
        wall = time.perf_counter() - started
    done.set()
    probe.join()
    return {
        "wall": wall,
        "ok": statuses.count(200),
        "echo_p50": statistics.median(echo_latencies) * 1000,
        "echo_p99": percentile(echo_latencies, 99) * 1000,
        "echo_n": len(echo_latencies),
    }


def blocked_figures(cluster: Cluster, inflight: int, probe_seconds: float = 4.0) -> dict[str, float]:
    """Echo latency while ``inflight`` runs are all blocked in a 10 s inference call (``blocked-model``).

    Unlike the burst above, the probe starts only once every blocked run is executing, so it
    measures whether runs waiting on I/O starve other runs, not how fast 200 requests are admitted.
    """
    headers = {"Authorization": f"Bearer {cluster.tokens['alice']}"}
    barrier = threading.Barrier(inflight + 1)
    running_sql = (
        "SELECT count(*) FROM skills_run WHERE status = 'running' AND position('blocked-model' in input) > 0"
    )

    def blocked(_):
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=120) as client:
            barrier.wait()
            body = {"action": "complete", "model": "blocked-model", "text": "hello"}
            return client.post("/v1/skills/test/sink/run", json=body).status_code

    with ThreadPoolExecutor(inflight) as pool:
        futures = [pool.submit(blocked, n) for n in range(inflight)]
        barrier.wait()
        started = time.perf_counter()
        while cluster.postgres.query(running_sql)[0][0] < inflight and time.perf_counter() - started < 9:
            time.sleep(0.05)
        admitted = time.perf_counter() - started
        latencies: list[float] = []
        with httpx.Client(base_url=cluster.url, headers=headers, timeout=60) as client:
            while time.perf_counter() - started < admitted + probe_seconds:
                t = time.perf_counter()
                response = client.post("/v1/skills/test/sink/run", json={"action": "echo", "payload": 1})
                assert response.status_code == 200, response.text
                latencies.append(time.perf_counter() - t)
                time.sleep(0.02)
        still_running = cluster.postgres.query(running_sql)[0][0]
        statuses = [future.result() for future in futures]
    return {
        "admitted": admitted,
        "still_running": still_running,
        "ok": statuses.count(200),
        "echo_p50": statistics.median(latencies) * 1000,
        "echo_p99": percentile(latencies, 99) * 1000,
        "echo_n": len(latencies),
    }


def raw_runtime(kitchen_sink: Path, runs: int) -> tuple[float, float]:
    """(runs/s, p50 ms) of Runtime.run(echo) in this process: the floor under any kernel."""
    from runtime import Csi, EngineSettings, Limits, Runtime

    runtime = Runtime(EngineSettings(spare_instances=2, pooling=True, pool_instances=64))  # the kernel's
    artifact = Path(os.environ["ARTIFACT_ROOT"])
    cached = sorted(artifact.glob("artifacts/*/" + runtime.artifact_key + ".cwasm"))
    from runtime.engine import digest

    wanted = artifact / "artifacts" / digest(kitchen_sink.read_bytes()) / f"{runtime.artifact_key}.cwasm"
    skill = runtime.load((wanted if wanted.exists() else cached[0]).read_bytes())
    limits, latencies = Limits(timeout=10), []
    started = time.perf_counter()
    for _ in range(runs):
        t = time.perf_counter()
        outcome = runtime.run(skill, b'{"action": "echo", "payload": 1}', Csi(), limits)
        assert outcome.succeeded, outcome.error_message
        latencies.append(time.perf_counter() - t)
    return runs / (time.perf_counter() - started), statistics.median(latencies) * 1000


def embedded_server(skills: dict[str, Path]) -> tuple[subprocess.Popen, str, str]:
    """gunicorn on the embedded default (SQLite, in-process thread pool) with the test skills."""
    import json

    data = tempfile.mkdtemp(prefix="skill-kernel-bench-embedded-")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env |= {
        "SKILL_KERNEL_DATA": data,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
    }
    setup = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/distributed/setup_kernel.py"),
            str(skills["kitchen_sink"]),
            str(skills["stream_skill"]),
        ],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    token = json.loads(setup.stdout.strip().splitlines()[-1])["alice"]
    port = free_port()
    web = start_gunicorn(port, env)
    url = f"http://127.0.0.1:{port}"
    return web, url, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inflight", type=int, default=200)
    parser.add_argument("--worker-threads", type=int, default=220)
    parser.add_argument("--echo-requests", type=int, default=400)
    parser.add_argument("--echo-concurrency", type=int, default=8)
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn processes (one per core)")
    parser.add_argument("--quick", action="store_true", help="smaller burst, no memory section")
    args = parser.parse_args()
    if args.quick:
        args.inflight, args.worker_threads, args.echo_requests = 50, 64, 160

    from skills import builder

    skills = {s.stem: builder.build(s) for s in sorted((ROOT / "tests/skills").glob("*.py"))}
    extra = [] if args.quick else variants(skills["kitchen_sink"])
    inference_port = free_port()
    inference = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.openai_server",
            "--port",
            str(inference_port),
            "--delay",
            "1.0",
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    cluster = Cluster(
        skills,
        env={
            "OPENAI_INFERENCE__URL": f"http://127.0.0.1:{inference_port}/v1",
            "SKILL_MAX_QUEUED_RUNS": "5000",
        },
        web_threads=args.inflight + 64,
        web_processes=args.web_processes,
    )
    try:
        if extra:
            register = [arg for n, path in enumerate(extra) for arg in (f"sink{n}", str(path))]
            print(f"registering {len(extra)} skill variants (compiles once, then cached)...", flush=True)
            subprocess.run([sys.executable, "-c", REGISTER, *register], env=cluster.env, cwd=ROOT, check=True)
        worker = cluster.start_worker(threads=args.worker_threads)

        with cluster.client() as client:  # warm the worker's cache and connections
            for _ in range(20):
                assert client.post("/v1/skills/test/sink/run", json={"action": "echo"}).status_code == 200
        print(f"1. {args.inflight} concurrent runs, each waiting 1 s on inference ...", flush=True)
        inflight = inflight_figures(cluster, args.inflight)
        rss_inflight = rss_mb(worker.pid)
        print(f"   ... and a trivial skill while {args.inflight} runs are blocked on a 10 s call", flush=True)
        blocked = blocked_figures(cluster, args.inflight)

        print("2. trivial skill throughput ...", flush=True)
        requests = args.echo_requests - args.echo_requests % args.echo_concurrency

        def distributed_load():
            return echo_load(cluster.url, cluster.tokens["alice"], requests, args.echo_concurrency)

        distributed_load.requests = requests
        postmaster = int((cluster.postgres.data / "postmaster.pid").read_text().split()[0])
        processes = {"web": cluster.web.pid, "worker": worker.pid, "PostgreSQL": postmaster}
        if cluster.redis.process is not None:
            processes["Redis"] = cluster.redis.process.pid
        distributed, distributed_cpu = cpu_per_request(processes, distributed_load)
        web, url, token = embedded_server(skills)
        try:
            echo_load(url, token, 40, 4)  # warm up

            def embedded_load():
                return echo_load(url, token, requests, args.echo_concurrency)

            embedded_load.requests = requests
            embedded, embedded_cpu = cpu_per_request({"web": web.pid}, embedded_load)
        finally:
            web.terminate()
            web.wait(10)
        raw = raw_runtime(skills["kitchen_sink"], 200)

        memory, sizes = {}, None
        cluster.stop_worker(worker)
        for label, cache_mb in (
            ()
            if args.quick
            else (
                ("SKILL_CACHE_MB=1024 (all 10 fit)", 1024),
                ("SKILL_CACHE_MB=32 (3 of ~11 MB fit)", 32),
            )
        ):
            worker = cluster.start_worker(threads=8, env={"SKILL_CACHE_MB": str(cache_mb)})
            with cluster.client() as client:
                for _ in range(2):
                    for name in ["sink", "stream", *(f"sink{n}" for n in range(VARIANTS))]:
                        if name == "stream":
                            client.post("/v1/skills/test/stream/message-stream", json={"text": "a b"})
                        else:
                            response = client.post(f"/v1/skills/test/{name}/run", json={"action": "echo"})
                            assert response.status_code == 200, response.text
            if not memory:
                print("3. worker memory with 10 distinct skills cached ...", flush=True)
            memory[label] = rss_mb(worker.pid)
            cluster.stop_worker(worker)
            sizes = cluster.postgres.query(
                "SELECT count(DISTINCT artifact), sum(DISTINCT artifact_size) FROM skills_skillversion"
            )[0]
    finally:
        cluster.close()
        inference.terminate()

    print()
    print(f"{'figure':<62} {'value':>12}  target")
    print(f"{'-' * 62} {'-' * 12}  ------")
    label = f"{args.inflight} x 1 s inference, wall time ({inflight['ok']} answered 200)"
    print(f"{label:<62} {inflight['wall']:>10.2f} s  < 5 s (serial: {args.inflight} s)")
    label = f"echo p50 while they are in flight ({inflight['echo_n']} samples)"
    print(f"{label:<62} {inflight['echo_p50']:>9.1f} ms")
    print(f"{'echo p99 while they are in flight':<62} {inflight['echo_p99']:>9.1f} ms  < 250 ms")
    label = f"{args.inflight} runs blocked 10 s on inference: all executing after"
    print(f"{label:<62} {blocked['admitted']:>10.2f} s")
    label = f"echo p50 while all {int(blocked['still_running'])} are blocked ({blocked['echo_n']} samples)"
    print(f"{label:<62} {blocked['echo_p50']:>9.1f} ms")
    print(f"{'echo p99 while all are blocked':<62} {blocked['echo_p99']:>9.1f} ms  < 250 ms")
    label = f"worker RSS now/peak, {args.worker_threads} threads"
    print(f"{label:<62} {rss_inflight[0]:>5.0f}/{rss_inflight[1]:.0f} MB")
    print()
    print(f"{'trivial skill (echo)':<30} {'runs/s':>10} {'p50 ms':>10} {'p99 ms':>10} {'p50 / raw':>10}")
    for label, (rps, p50, p99) in (
        ("distributed (HTTP, 1 worker)", distributed),
        ("embedded (HTTP)", embedded),
    ):
        print(f"{label:<30} {rps:>10.1f} {p50:>10.1f} {p99:>10.1f} {p50 / raw[1]:>9.1f}x")
    print(f"{'raw Runtime.run, 1 thread':<30} {raw[0]:>10.1f} {raw[1]:>10.1f} {'':>10} {1:>9.1f}x")
    print(f"(HTTP figures with {args.echo_concurrency} concurrent clients)")
    spent = ", ".join(f"{name} {ms:.1f}" for name, ms in distributed_cpu.items())
    print(f"CPU per trivial run, distributed: {sum(distributed_cpu.values()):.1f} ms ({spent})")
    print(f"CPU per trivial run, embedded: {embedded_cpu['web']:.1f} ms (the web process)")
    ratio = distributed[0] / raw[0]
    print(
        f"distributed throughput / raw: {ratio:.2f}x (target >= 0.5x: {'met' if ratio >= 0.5 else 'NOT met'})"
    )
    print(
        f"echo p99 during the {args.inflight}-run burst: {inflight['echo_p99']:.0f} ms "
        f"(target < 250 ms: {'met' if inflight['echo_p99'] < 250 else 'NOT met'})"
    )
    if sizes:
        print()
        print(f"{sizes[0]} distinct artifacts, {int(sizes[1]) / 2**20:.0f} MB serialized in total")
    for label, (current, peak) in memory.items():
        print(
            f"worker peak RSS, 10 distinct skills run twice, {label:<36} {peak:>6.0f} MB (now {current:.0f})"
        )


if __name__ == "__main__":
    main()
