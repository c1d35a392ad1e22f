"""Helpers of the deployment tests: one request both test skills answer, and Git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

# kitchen_sink echoes the payload; the hello example greets the name: one body tells them apart.
BODY = {"action": "echo", "payload": "hi", "name": "Ada"}
SINK_ANSWER = {"action": "echo", "result": "hi"}
HELLO_ANSWER = {"greeting": "Hello, Ada!", "language": None}


def run(client, skill: str) -> tuple[int, object]:
    """(status, JSON body) of ``POST /v1/skills/{skill}/run`` with :data:`BODY`."""
    response = client.post(f"/v1/skills/{skill}/run", json.dumps(BODY), content_type="application/json")
    return response.status_code, response.json()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def commit_file(repo: Path, path: str, text: str) -> str:
    """Write ``path`` in ``repo`` (created on first use, branch main) and commit it; the commit."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True, exist_ok=True)
        git(repo, "init", "-q", "-b", "main")
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text(text)
    git(repo, "add", path)
    git(repo, "commit", "-q", "-m", f"{path}: {text[:40]}")
    return git(repo, "rev-parse", "HEAD").strip()
