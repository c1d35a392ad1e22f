"""The REST API: datasets, evaluations, results, cancel and promote, with roles and JSON errors."""

from __future__ import annotations

import csv
import io
import time

from rest_framework.test import APIClient

from skills.evaluations.models import Promotion
from skills.models import Tag
from tests.evaluations.conftest import EXAMPLES, jsonl


def upload(client, body: bytes, name="api", content_type="application/x-ndjson", **params):
    query = "&".join(f"{k}={v}" for k, v in {"name": name, **params}.items())
    return client.post(f"/api/v1/skills/evals/grader/datasets?{query}", body, content_type=content_type)


def finished(client, url: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["status"] in ("finished", "failed", "cancelled"):
            return body
        time.sleep(0.1)
    raise AssertionError(body)


def test_upload_list_evaluate_read_results_and_promote(evals):
    ada, dora = evals.clients["ada"], evals.clients["dora"]
    created = upload(ada, jsonl(EXAMPLES))
    assert created.status_code == 201, created.json()
    dataset = created.json()
    assert dataset["examples"] == 4 and dataset["skill"] == "evals/grader"
    listed = evals.clients["vic"].get("/api/v1/skills/evals/grader/datasets").json()
    assert [d["name"] for d in listed] == ["api"]
    assert ada.get(f"/api/v1/datasets/{dataset['id']}").json()["examples_list"][0]["position"] == 1

    response = ada.post(
        "/api/v1/evaluations",
        {
            "dataset": dataset["id"],
            "versions": ["latest", evals.v2.digest[:16]],
            "evaluators": ["exact_match", {"name": "field_equals", "options": {"path": "label"}}],
            "concurrency": 2,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    evaluation = finished(ada, response.json()["url"])
    assert evaluation["status"] == "finished" and evaluation["progress"]["done"] == 8
    assert evaluation["versions"] == [evals.v1.digest, evals.v2.digest]

    results = ada.get(f"/api/v1/evaluations/{evaluation['id']}/results").json()
    rates = {(a["key"], a["version"]): a["rate"] for a in results["aggregates"]}
    assert rates["exact_match", evals.v2.digest] == 1.0 and rates["exact_match", evals.v1.digest] == 0.0
    assert len(results["results"]) == 8 and results["results"][0]["output"]["label"] == "positive"
    exported = ada.get(f"/api/v1/evaluations/{evaluation['id']}/results?type=csv")
    assert exported["Content-Type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(exported.content.decode())))) == 9

    promote = {"version": evals.v2.digest[:12], "tag": "latest"}
    refused = ada.post(f"/api/v1/evaluations/{evaluation['id']}/promote", promote, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["kind"] == "forbidden"
    promoted = dora.post(f"/api/v1/evaluations/{evaluation['id']}/promote", promote, format="json")
    assert promoted.status_code == 201, promoted.json()
    assert promoted.json()["previous_version"] == evals.v1.digest
    assert Tag.objects.get(skill=evals.v1.skill, name="latest").version == evals.v2
    record = Promotion.objects.get()
    assert (record.evaluation_id, record.promoted_by, record.tag) == (
        evaluation["id"],
        evals.users["dora"],
        "latest",
    )


def test_upload_errors_are_json_with_every_line(evals):
    response = upload(evals.clients["ada"], b'{"input": {"text": "ok"}}\n{"input": {}}\n[1,\n')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["kind"] == "invalid_input"
    assert [e["line"] for e in error["errors"]] == [2, 3]
    csv_body = b"text,number\nok,1\n,x\n"
    response = upload(evals.clients["ada"], csv_body, name="csv", content_type="text/csv")
    assert [e["line"] for e in response.json()["error"]["errors"]] == [3, 3]
    assert response.json()["error"]["message"].startswith("the dataset has 1 invalid line: line 3: ")
    # curl --data-binary sends a form content type: the body is still the file
    as_curl = upload(
        evals.clients["ada"], jsonl(EXAMPLES), name="curl", content_type="application/x-www-form-urlencoded"
    )
    assert as_curl.status_code == 201 and as_curl.json()["examples"] == 4
    assert upload(evals.clients["ada"], b"", name="").status_code == 400
    assert upload(evals.clients["vic"], jsonl(EXAMPLES)).status_code == 403
    assert upload(evals.clients["nobody"], jsonl(EXAMPLES)).status_code == 404
    anonymous = APIClient().get("/api/v1/skills/evals/grader/datasets")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["kind"] == "unauthenticated"


def test_evaluation_requests_are_checked(evals):
    ada = evals.clients["ada"]
    dataset = upload(ada, jsonl(EXAMPLES)).json()

    def create(**body):
        payload = {"dataset": dataset["id"], "versions": ["latest"], "evaluators": ["exact_match"], **body}
        return ada.post("/api/v1/evaluations", payload, format="json")

    assert create(evaluators=["nope"]).json()["error"]["message"].startswith("unknown evaluator 'nope'")
    assert create(concurrency=0).status_code == 400
    assert create(versions=["no-such-tag"]).status_code == 404
    assert create(dataset=999).status_code == 404
    viewer = evals.clients["vic"].post(
        "/api/v1/evaluations",
        {"dataset": dataset["id"], "versions": ["latest"], "evaluators": ["latency"]},
        format="json",
    )
    assert viewer.status_code == 403
    assert ada.get("/api/v1/evaluations/999").status_code == 404
    assert ada.post("/api/v1/evaluations", "nope", content_type="text/plain").status_code == 415


def test_cancel_through_the_api(evals):
    ada = evals.clients["ada"]
    dataset = upload(ada, jsonl(EXAMPLES * 10)).json()
    payload = {"dataset": dataset["id"], "versions": ["latest"], "evaluators": ["latency"], "concurrency": 1}
    evaluation = ada.post("/api/v1/evaluations", payload, format="json").json()
    assert evals.clients["vic"].post(f"/api/v1/evaluations/{evaluation['id']}/cancel").status_code == 403
    response = ada.post(f"/api/v1/evaluations/{evaluation['id']}/cancel")
    if response.status_code == 409:  # 40 tiny runs may all have ended already on a fast machine
        assert response.json()["error"]["message"].endswith("already ended finished")
        return
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert ada.post(f"/api/v1/evaluations/{evaluation['id']}/cancel").status_code == 409
    assert finished(ada, evaluation["url"])["status"] == "cancelled"
