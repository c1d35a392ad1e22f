"""The CSI shell spends the kernel's backends: only callers who may invoke skills somewhere may
call it, and every call is counted per caller in /metrics."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.support.callers import client_with_role

LANGUAGE = {"text": "Das ist ein Satz auf Deutsch.", "languages": ["eng", "deu"]}
CHUNK = {"text": "one two three", "params": {"model": "pharia-1-llm-7b-control", "max_tokens": 5}}


def caller(username: str, role: str | None) -> APIClient:
    return client_with_role(username, role, namespace="team")


@pytest.mark.parametrize(
    "path, body",
    [
        ("/csi/v1/select_language", [LANGUAGE]),
        ("/csi/v1/chunk", [CHUNK]),
        ("/csi/v2/select_language", [LANGUAGE]),
        ("/csi", {"version": "0.3", "function": "select_language", "requests": [LANGUAGE]}),
    ],
)
def test_only_callers_who_may_invoke_somewhere_use_the_csi_shell(db, path, body):
    nobody, viewer, invoker = caller("nobody", None), caller("viewer", "view"), caller("invoker", "invoke")
    for api in (nobody, viewer):
        response = api.post(path, body, format="json")
        assert response.status_code == 403, response.content
        assert "invoke role" in response.content.decode()
    assert invoker.post(path, body, format="json").status_code == 200
    assert APIClient().post(path, body, format="json").status_code == 401


def test_csi_shell_calls_are_counted_per_caller(db, settings):
    settings.METRICS_PUBLIC = True
    invoker, nobody = caller("invoker", "invoke"), caller("nobody", None)
    invoker.post("/csi/v1/select_language", [LANGUAGE], format="json")
    invoker.post("/csi/v1/select_language", [LANGUAGE], format="json")
    nobody.post("/csi/v1/chunk", [CHUNK], format="json")
    invoker.post("/csi/v1/no_such_function", [], format="json")
    metrics = APIClient().get("/metrics").content.decode()
    calls = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in metrics.splitlines()
        if line.startswith("skill_kernel_csi_shell_calls_total{")
    }
    assert (
        calls['skill_kernel_csi_shell_calls_total{caller="invoker",function="select_language",status="200"}']
        >= 2
    )
    assert calls['skill_kernel_csi_shell_calls_total{caller="nobody",function="chunk",status="403"}'] >= 1
    assert calls['skill_kernel_csi_shell_calls_total{caller="invoker",function="unknown",status="404"}'] >= 1
