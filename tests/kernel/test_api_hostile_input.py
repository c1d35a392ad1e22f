"""Hostile and malformed requests get a JSON error with the right 4xx on every API path, never a 500
or an HTML page, and store no run (issue 12)."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, RequestFactory

from skills.api import exceptions
from skills.models import Namespace, Run
from skills.services import invocation

DEEP = b"[" * 100_000 + b"]" * 100_000


def submit_body(input_json: bytes) -> bytes:
    return b'{"namespace": "test", "skill": "sink", "input": ' + input_json + b"}"


def assert_json_error(response, status: int, kind: str, words: str = "") -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    error = json.loads(response.content)["error"]
    assert error["kind"] == kind
    assert words in error["message"]


def browser(caller) -> Client:
    client = Client()
    client.force_login(caller.user)
    return client


# -- deeply nested JSON, NaN and Infinity ---------------------------------------------------------


def test_deeply_nested_json_is_400_on_every_route_that_reads_input(alice):
    post = alice.client.post
    for response in (
        post("/v1/skills/test/sink/run", DEEP, content_type="application/json"),
        post("/api/v1/runs", submit_body(DEEP), content_type="application/json"),
        post("/v1/skills/test/stream/message-stream", DEEP, content_type="application/json"),
    ):
        assert_json_error(response, 400, "invalid_input", "nested deeper than 512 levels")
    response = browser(alice).post("/skills/test/sink/try", DEEP, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 512 levels" in response.json()["error"]["message"]
    assert not Run.objects.exists()


def test_nesting_up_to_the_limit_runs_and_the_limit_is_a_setting(alice, settings):
    payload = b"[" * 8 + b"]" * 8
    response = alice.run("test/sink", b'{"action": "echo", "payload": ' + payload + b"}")
    assert response.status_code == 200, response.content[:300]
    response = alice.run("test/sink", b'{"action": "echo", "payload": ' + b"[" * 511 + b"]" * 511 + b"}")
    assert "nested deeper" not in response.content.decode()  # the kernel passed it on to the skill
    settings.SKILL_MAX_INPUT_DEPTH = 10
    response = alice.run("test/sink", b'{"action": "echo", "payload": ' + b"[" * 10 + b"]" * 10 + b"}")
    assert_json_error(response, 400, "invalid_input", "nested deeper than 10 levels")


def test_brackets_inside_strings_do_not_count_as_nesting():
    assert invocation.json_depth(b'["[[[[", {"k\\"[[": "\\\\"}, [[]]]') == 3
    assert invocation.json_depth(DEEP) == 100_000


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_not_json(alice, constant):
    response = alice.run("test/sink", b'{"action": "echo", "payload": ' + constant + b"}")
    assert_json_error(response, 400, "invalid_input", "is not a JSON value")
    response = alice.client.post("/api/v1/runs", submit_body(constant), content_type="application/json")
    assert_json_error(response, 400, "invalid_input", "is not a JSON value")
    assert not Run.objects.exists()


# -- bodies over Django's upload limit ------------------------------------------------------------


def test_body_over_djangos_upload_limit_is_413_json(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"action": "echo", "payload": "x" * 2000}).encode()
    post = alice.client.post
    for response in (
        post("/v1/skills/test/sink/run", big, content_type="application/json"),
        post("/api/v1/runs", submit_body(big), content_type="application/json"),
        post("/v1/skills/test/stream/message-stream", big, content_type="application/json"),
    ):
        assert_json_error(response, 413, "payload_too_large", "larger than 1000 bytes")
    response = browser(alice).post("/skills/test/sink/try", big, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["error"]["kind"] == "payload_too_large"
    assert not Run.objects.exists()


# -- resolver errors under the API's paths ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/nope", "/v1", "/api/v1/runs/not-a-uuid", "/api/v1/runs/not-a-uuid/cancel", "/csi/v3/chat", "/csi/"],
)
def test_unknown_api_paths_are_404_json(alice, path):
    assert_json_error(alice.client.get(path), 404, "not_found", path)


def test_unknown_catalogue_paths_keep_the_html_page(alice):
    response = browser(alice).get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_server_errors_under_the_api_paths_are_json():
    request = RequestFactory().get("/v1/skills")
    assert_json_error(exceptions.server_error(request), 500, "server_error")
    assert exceptions.server_error(RequestFactory().get("/runs"))["Content-Type"].startswith("text/html")


# -- message-stream: refuse before the stream starts -----------------------------------------------


def test_stream_in_a_namespace_the_caller_cannot_see_is_404_before_the_stream(alice):
    Namespace.objects.create(name="other")
    response = alice.client.post(
        "/v1/skills/other/stream/message-stream", b"{}", content_type="application/json"
    )
    assert_json_error(response, 404, "not_found", "namespace 'other'")


def test_stream_of_a_programmable_skill_is_400_and_stores_no_run(alice):
    response = alice.client.post(
        "/v1/skills/test/sink/message-stream", b'{"action": "echo"}', content_type="application/json"
    )
    assert_json_error(response, 400, "bad_request", "not a message-stream skill")
    assert not Run.objects.exists()


def test_stream_for_a_viewer_is_403_before_the_stream(kernel):
    response = kernel["viewer"].client.post(
        "/v1/skills/test/stream/message-stream", b'{"text": "a"}', content_type="application/json"
    )
    assert_json_error(response, 403, "forbidden")


# -- smaller ones ----------------------------------------------------------------------------------


def test_idempotency_key_longer_than_the_field_is_400(alice):
    key = "k" * 201
    response = alice.run("test/sink", {"action": "echo"}, HTTP_IDEMPOTENCY_KEY=key)
    assert_json_error(response, 400, "bad_request", "at most 200")
    response = alice.client.post(
        "/api/v1/runs", submit_body(b"{}"), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    assert_json_error(response, 400, "bad_request", "at most 200")
    assert not Run.objects.exists()
    assert alice.run("test/sink", {"action": "echo"}, HTTP_IDEMPOTENCY_KEY="k" * 200).status_code == 200


@pytest.mark.parametrize("namespace, name", [("../evil", "skill"), ("ok", "../evil"), ("Caps", "skill")])
def test_register_skill_validates_namespace_and_name(transactional_db, skill_wasm, namespace, name):
    with pytest.raises(CommandError, match="Use lowercase letters"):
        call_command("register_skill", namespace, name, str(skill_wasm["kitchen_sink"]))
    assert not Namespace.objects.exists()


def test_unknown_skill_type_filter_is_400(alice):
    assert_json_error(alice.client.get("/v1/skills?type=AAA"), 400, "bad_request", "'AAA'")
    assert alice.client.get("/v1/skills?type=chat").json() == ["test/stream"]


def test_async_submit_accepts_null_input(alice):
    # a skill that declares no input schema (sink's would reject null before a run exists)
    Run._meta.get_field("version").related_model.objects.filter(skill__name="sink").update(input_schema=None)
    response = alice.client.post("/api/v1/runs", submit_body(b"null"), content_type="application/json")
    assert response.status_code == 202, response.content
    assert Run.objects.get().input == "null"


def test_async_submit_takes_json_only(alice):
    response = alice.client.post("/api/v1/runs", {"namespace": "test", "skill": "sink"})  # multipart
    assert_json_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("method", ["post", "put", "delete", "trace"])
def test_health_answers_get_and_head_only(client, method):
    assert client.get("/health").content == b"ok"
    assert client.head("/health").status_code == 200
    response = client.generic(method.upper(), "/health")
    assert_json_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET, HEAD"


def test_metrics_answers_get_and_head_only(client):
    assert client.generic("TRACE", "/metrics").status_code == 405
    assert client.post("/metrics").status_code == 405
