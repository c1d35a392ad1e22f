"""Instances made ahead of runs, dropped after them, and wasmtime's pooling allocator: runs stay isolated."""

from __future__ import annotations

import json
import threading
import time

import pytest

from runtime import Csi, EngineSettings, ErrorKind, Limits, Runtime
from tests.runtime.test_engine import _load

LIMITS = Limits(timeout=5, memory_bytes=128 * 1024 * 1024)
POOLED = EngineSettings(spare_instances=2, pooling=True, pool_instances=8, warm_slots=4)


@pytest.fixture(scope="module", params=["spares", "spares+pooling"])
def runtime(request) -> Runtime:
    if request.param == "spares":
        return Runtime(EngineSettings(spare_instances=2))
    return Runtime(POOLED)


@pytest.fixture(scope="module")
def sink(runtime, skill_wasm):
    return _load(runtime, skill_wasm["kitchen_sink"])


def run(runtime, skill, limits=LIMITS, **input):
    return runtime.run(skill, json.dumps(input).encode(), Csi(), limits)


def result(outcome):
    assert outcome.succeeded, (outcome.error_kind, outcome.error_message)
    return json.loads(outcome.output)["result"]


def wait_for_spares(skill, count: int = 1, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while len(skill.spares) < count:
        assert time.monotonic() < deadline, "no spare instance was prepared"
        time.sleep(0.01)


def test_each_run_sees_a_fresh_instance(runtime, sink):
    """A module-level list the skill appends to holds only this run's payload, every time."""
    for payload in range(6):
        assert result(run(runtime, sink, action="remember", payload=payload)) == [payload]


def test_spare_instances_are_made_ahead_and_used(runtime, sink):
    run(runtime, sink, action="echo", payload=0)
    wait_for_spares(sink, runtime.preparer.per_skill)
    prepared = runtime.preparer.prepared
    assert result(run(runtime, sink, action="remember", payload="a")) == ["a"]
    assert len(sink.spares) < runtime.preparer.per_skill or runtime.preparer.prepared > prepared
    wait_for_spares(sink, runtime.preparer.per_skill)
    assert runtime.preparer.prepared > prepared  # the spare taken was replaced


def test_a_spare_for_another_memory_limit_is_not_used(runtime, sink):
    run(runtime, sink, action="echo", payload=0)
    wait_for_spares(sink)
    smaller = Limits(timeout=5, memory_bytes=32 * 1024 * 1024)
    outcome = run(runtime, sink, limits=smaller, action="alloc")
    assert outcome.error_kind is ErrorKind.MEMORY_EXHAUSTED
    assert "32 MiB" in outcome.error_message


@pytest.mark.parametrize(
    ("input", "kind"),
    [
        ({"action": "alloc"}, ErrorKind.MEMORY_EXHAUSTED),
        ({"action": "loop", "seconds": 30}, ErrorKind.TIMEOUT),
        ({"action": "raise"}, ErrorKind.INTERNAL),
    ],
)
def test_a_run_after_a_failed_one_starts_clean(runtime, sink, input, kind):
    limits = Limits(timeout=0.5, memory_bytes=64 * 1024 * 1024)
    assert runtime.run(sink, json.dumps(input).encode(), Csi(), limits).error_kind is kind
    for payload in ("after", "again"):
        assert result(run(runtime, sink, action="remember", payload=payload)) == [payload]


def test_runs_on_threads_are_isolated(runtime, sink):
    results, errors = {}, []

    def work(index):
        try:
            for round in range(3):
                results[(index, round)] = result(
                    run(runtime, sink, action="remember", payload=[index, round])
                )
        except AssertionError as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == {key: [list(key)] for key in results} and len(results) == 18


@pytest.mark.parametrize("spares", [0, 2])
def test_more_runs_than_pool_slots_wait_for_one(skill_wasm, spares):
    """Two slots, six threads: runs queue for a slot instead of trapping on a full pool, and spares
    are only made from free slots (the preparer never waits for one)."""
    runtime = Runtime(EngineSettings(spare_instances=spares, pooling=True, pool_instances=2, warm_slots=1))
    sink = _load(runtime, skill_wasm["kitchen_sink"])
    outcomes = []

    def work():
        outcomes.append(run(runtime, sink, action="loop", seconds=0.2))

    threads = [threading.Thread(target=work) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [outcome.error_kind for outcome in outcomes] == [None] * 6
    assert time.monotonic() - started < 8  # no run waited out a slot timeout (10 s)


def test_used_stores_are_dropped_when_the_preparer_falls_behind(runtime, sink):
    """Retired stores queue for the preparer's thread up to a bound; past it the run drops its own."""
    preparer = runtime.preparer
    blocker = threading.Event()
    stall = _Stall(blocker)
    preparer.wanted(stall, LIMITS.memory_bytes)  # keeps the preparer busy
    try:
        for payload in range(preparer.max_pending_drops + 4):
            assert result(run(runtime, sink, action="remember", payload=payload)) == [payload]
        assert preparer._pending_drops <= preparer.max_pending_drops
    finally:
        blocker.set()


class _Stall:
    """A stand-in skill whose preparation blocks until released (only the preparer sees it)."""

    def __init__(self, release: threading.Event) -> None:
        self.release = release
        self.spares = _NoSpares(release)


class _NoSpares:
    def __init__(self, release: threading.Event) -> None:
        self.release = release

    def __len__(self) -> int:
        self.release.wait(10)
        return 99


def test_pooling_falls_back_to_on_demand_under_an_address_space_limit():
    """wasmtime aborts the process when it cannot reserve the pool: the runtime checks first."""
    import subprocess
    import sys

    script = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (8 << 30, resource.RLIM_INFINITY));"
        "from runtime import EngineSettings, Runtime;"
        "print(Runtime(EngineSettings(pooling=True, pool_instances=100)).settings.pooling)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert "ulimit -v" in done.stderr
