"""Done when of issue 13: on a fresh quick start, the example RAG skill answers from the built-in
collection that quickstart loads (``examples/rag/handbook`` as ``examples/handbook``)."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token


def test_quickstart_loads_the_handbook_and_the_rag_skill_answers_from_it(
    transactional_db, builtin, settings, tmp_path, example_wasm
):
    settings.DATA_DIR = tmp_path
    out = io.StringIO()
    call_command("quickstart", "--no-summary", stdout=out)
    assert "Loaded 4 documents into examples/handbook" in out.getvalue()

    token = Token.objects.get(user__username="admin").key
    response = Client().post(
        "/v1/skills/examples/rag/run",
        {"question": "How do I deploy a new skill version without downtime?"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["answer"] is None  # no model named: the passages only
    assert answer["sources"][0]["document"] == "deploying.md"
    assert "no downtime" in answer["sources"][0]["content"] and answer["sources"][0]["score"] > 0
