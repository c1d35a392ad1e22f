"""A kernel under gunicorn on loopback, embedded default, with the test skills (namespace ``test``:
``sink``, ``stream``) and the loopback inference and document index servers as its backends."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.distributed.cluster import free_port, start_gunicorn
from tests.support.document_index_server import DocumentIndexTestServer
from tests.support.openai_server import OpenAITestServer

ROOT = Path(__file__).resolve().parents[2]
SETUP = """
import sys
from django.core.management import call_command
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from skills.models import Namespace

call_command("migrate", verbosity=0)
call_command("register_skill", "test", "sink", sys.argv[1])
call_command("register_skill", "test", "stream", sys.argv[2])
Namespace.objects.filter(name="test").update(native_tools="add,subtract,saboteur")
user = User.objects.create_superuser(sys.argv[3], "", "unused")
print(Token.objects.create(user=user).key)
"""


@dataclass
class LiveKernel:
    url: str
    token: str
    log: Path


@contextlib.contextmanager
def live_kernel(
    skill_wasm: dict[str, Path],
    data: Path,
    *,
    user: str = "tester",
    threads: int = 4,
    env: dict[str, str] | None = None,
) -> Iterator[LiveKernel]:
    with OpenAITestServer() as inference, DocumentIndexTestServer() as documents:
        environ = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kernel_site.settings_test",
            "SKILL_KERNEL_DATA": str(data),
            "OPENAI_INFERENCE__URL": inference.url,
            "DOCUMENT_INDEX__URL": documents.url,
            **(env or {}),
        }
        setup = [sys.executable, "-c", f"import django; django.setup()\n{SETUP}"]
        paths = [str(skill_wasm["kitchen_sink"]), str(skill_wasm["stream_skill"])]
        done = subprocess.run(
            [*setup, *paths, user], env=environ, cwd=ROOT, check=True, capture_output=True, text=True
        )
        port = free_port()
        server = start_gunicorn(port, environ, threads=threads, log=data / "web.log")
        try:
            yield LiveKernel(f"http://127.0.0.1:{port}", done.stdout.split()[-1], data / "web.log")
        finally:
            server.terminate()
            server.wait(timeout=30)
