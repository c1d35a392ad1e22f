"""Deploying in distributed mode: the web process syncs a namespace on request and serves the new
version from its fast (Winch) artifact at once; a Celery worker builds the Cranelift artifact and
swaps it in, while the skill keeps answering."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.support.components import fresh_copy

pytestmark = pytest.mark.distributed


def artifact_key(cluster, skill: str) -> str:
    rows = cluster.postgres.query(
        "select v.artifact_key from skills_skillversion v join skills_skill s on s.id = v.skill_id "
        "join skills_namespace n on n.id = s.namespace_id where n.name = 'gitops' and s.name = %s",
        (skill,),
    )
    return rows[0][0] if rows else ""


def test_a_deployed_skill_serves_at_once_and_a_worker_swaps_in_cranelift(cluster, skill_wasm):
    directory = Path(cluster.env["NAMESPACES__GITOPS__DIRECTORY"])
    (directory / "fresh.wasm").write_bytes(fresh_copy(skill_wasm["kitchen_sink"].read_bytes(), "distributed"))
    settled = time.time() - 60  # written completely: no need to wait for it to settle
    os.utime(directory / "fresh.wasm", (settled, settled))
    with cluster.client("admin") as client:
        response = client.post("/v1/namespaces/gitops/sync")
        assert response.status_code == 200, response.text
        assert [line.split(" (")[0] for line in response.json()["changes"]] == ["added fresh"]
        assert artifact_key(cluster, "fresh").endswith("-winch")

        answers = []
        deadline = time.monotonic() + 120
        while artifact_key(cluster, "fresh").endswith("-winch"):
            assert time.monotonic() < deadline, "no worker swapped in the Cranelift artifact"
            answer = client.post("/v1/skills/gitops/fresh/run", json={"action": "echo", "payload": 1})
            answers.append((answer.status_code, answer.json()))
            time.sleep(0.2)
        assert "-opt=" in artifact_key(cluster, "fresh")
        answer = client.post("/v1/skills/gitops/fresh/run", json={"action": "echo", "payload": 1})
        answers.append((answer.status_code, answer.json()))
    assert answers and all(a == (200, {"action": "echo", "result": 1}) for a in answers), answers[:3]
