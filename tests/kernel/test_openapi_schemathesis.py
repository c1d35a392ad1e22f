"""Schemathesis over ``/openapi.json`` against a live kernel: every check, a bounded number of examples.

The kernel runs under gunicorn with a fresh data directory, the test skills (namespace ``test``:
``sink``, ``stream``) and the loopback inference and document index servers as CSI backends, so
generated requests reach skills and backends. It must answer no 5xx and nothing the document does
not describe (status, content type, body schema, event schema). What Schemathesis is told beyond
the document is in ``schemathesis.toml`` beside this file, each item with its reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.distributed.cluster import VENV_BIN, free_port, start_gunicorn
from tests.support.document_index_server import DocumentIndexTestServer
from tests.support.openai_server import OpenAITestServer

pytestmark = pytest.mark.schemathesis

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 30  # per operation and phase: about a minute on two shared cores
SEED = 20261203  # the same requests on every run; pass another to explore (st replay reproduces)

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
user = User.objects.create_superuser("schemathesis", "", "unused")
print(Token.objects.create(user=user).key)
"""


@pytest.fixture(scope="module")
def live_kernel(skill_wasm, tmp_path_factory):
    data = tmp_path_factory.mktemp("schemathesis-kernel")
    with OpenAITestServer() as inference, DocumentIndexTestServer() as documents:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kernel_site.settings_test",
            "SKILL_KERNEL_DATA": str(data),
            "OPENAI_INFERENCE__URL": inference.url,
            "DOCUMENT_INDEX__URL": documents.url,
        }
        setup = [sys.executable, "-c", f"import django; django.setup()\n{SETUP}"]
        paths = [str(skill_wasm["kitchen_sink"]), str(skill_wasm["stream_skill"])]
        done = subprocess.run([*setup, *paths], env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        token = done.stdout.split()[-1]
        port = free_port()
        server = start_gunicorn(port, env, threads=4, log=data / "web.log")
        try:
            yield f"http://127.0.0.1:{port}", token, data / "web.log"
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_schemathesis_finds_no_server_error_and_no_schema_violation(live_kernel, tmp_path):
    url, token, log = live_kernel
    assert httpx.get(f"{url}/openapi.json").status_code == 200
    command = [
        str(VENV_BIN / "st"),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",  # several workers trip CPython 3.11's ast.parse in Hypothesis (SystemError)
        "--request-timeout",
        "30",
    ]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    assert done.returncode == 0, f"{report[-20000:]}\n--- kernel log ---\n{log.read_text()[-5000:]}"
    assert " generated, " in report and "16 selected / 16 total" in report, report[-3000:]
