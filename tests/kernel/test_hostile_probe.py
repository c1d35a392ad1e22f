"""Hostile skills and careless clients against a live kernel: each gets its clear error, its run
ends stored in a terminal state, and the kernel keeps answering a probe while it happens."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.support.live_kernel import live_kernel

ECHO = {"action": "echo", "payload": "probe"}
RUN = "/v1/skills/test/sink/run"


@pytest.fixture(scope="module")
def kernel(skill_wasm, tmp_path_factory):
    env = {"SKILL_TIMEOUT_SECONDS": "3", "SKILL_MAX_OUTPUT_BYTES": "100000"}
    with live_kernel(skill_wasm, tmp_path_factory.mktemp("hostile-kernel"), env=env, threads=8) as running:
        yield running


def client(kernel) -> httpx.Client:
    return httpx.Client(base_url=kernel.url, headers={"Authorization": f"Bearer {kernel.token}"}, timeout=60)


HOSTILE = [
    # (what, request body as bytes, expected status, expected error kind or None)
    ("endless loop", b'{"action": "loop", "seconds": 1000}', 504, "timeout"),
    ("unbounded allocation", b'{"action": "alloc"}', 500, "memory_exhausted"),
    (
        "huge output",
        b'{"action": "repeat", "text": "xxxxxxxxxx", "payload": 1000000}',
        500,
        "output_too_large",
    ),
    ("a trap of its own", b'{"action": "raise", "text": "boom"}', 400, "internal"),
    ("JSON nested 100,000 deep", b"[" * 100_000 + b"]" * 100_000, 400, "invalid_input"),
    ("NaN in the input", b'{"action": "echo", "payload": NaN}', 400, "invalid_input"),
    ("not JSON", b"{nope", 400, "invalid_input"),
    ("a body over the limit", b'{"action": "echo", "payload": "' + b"x" * 3_000_000 + b'"}', 413, None),
]


@pytest.mark.parametrize(("what", "body", "status", "kind"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_the_kernel_answers_a_probe_while_a_hostile_request_runs(kernel, what, body, status, kind):
    answers: list[httpx.Response] = []
    with client(kernel) as hostile_client:
        thread = threading.Thread(
            target=lambda: answers.append(
                hostile_client.post(RUN, content=body, headers={"Content-Type": "application/json"})
            )
        )
        thread.start()
        probes = []
        with client(kernel) as probe:
            while thread.is_alive() or not probes:
                probes.append(probe.post(RUN, json=ECHO))
        thread.join()
        (answer,) = answers
        assert answer.status_code == status, answer.text[:300]
        assert answer.headers["content-type"].startswith("application/json")
        if kind:
            assert answer.json()["error"]["kind"] == kind
        assert all(p.status_code == 200 and p.json() == {"action": "echo", "result": "probe"} for p in probes)
        run_id = answer.headers.get("X-Run-Id")
        if run_id:  # an accepted invocation is a stored run in a terminal state
            stored = hostile_client.get(f"/api/v1/runs/{run_id}").json()
            assert stored["status"] == "failed", stored


@pytest.mark.parametrize(
    ("action", "field"),
    [("read_file", "/etc/passwd"), ("list_dir", None), ("socket", None), ("env", None)],
)
def test_the_sandbox_gives_no_filesystem_network_or_environment(kernel, action, field):
    body = {"action": action}
    if field:
        body["path"] = field
    with client(kernel) as api:
        answer = api.post(RUN, json=body)
    assert answer.status_code == 200
    result = answer.json()["result"]
    if action == "env":
        assert "SKILL_KERNEL_DATA" not in result and "PATH" not in result
    else:
        assert result["ok"] is False, result
