"""The catalogue pages of datasets and evaluations, and their admin, through Django's test client."""

from __future__ import annotations

import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from skills.evaluations import datasets, runner
from skills.evaluations.models import Dataset, Evaluation, Promotion
from skills.models import Tag
from tests.evaluations.conftest import EXAMPLES, jsonl


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def wait_for(evaluation: Evaluation, timeout: float = 30) -> Evaluation:
    deadline = time.monotonic() + timeout
    while not evaluation.is_terminal and time.monotonic() < deadline:
        time.sleep(0.05)
        evaluation.refresh_from_db()
    return evaluation


def test_upload_page_lists_line_errors_then_stores_a_good_file(evals):
    client = logged_in(evals.users["ada"])
    page = client.get("/skills/evals/grader/datasets/")
    assert page.status_code == 200 and b"Upload a dataset" in page.content
    bad = SimpleUploadedFile("bad.jsonl", b'{"input": {"text": "ok"}}\n{"input": {"number": "x"}}\n')
    rejected = client.post("/skills/evals/grader/datasets/", {"name": "first", "file": bad})
    assert rejected.status_code == 400
    assert b"The dataset was not stored" in rejected.content and b"text: field required" in rejected.content
    assert not Dataset.objects.exists()
    good = SimpleUploadedFile("good.csv", b"text,number\na good day,1\nrain,2\n", content_type="text/csv")
    stored = client.post("/skills/evals/grader/datasets/", {"name": "first", "file": good}, follow=True)
    dataset = Dataset.objects.get()
    assert stored.redirect_chain[-1][0] == f"/datasets/{dataset.pk}/"
    assert b"stored with 2 examples" in stored.content and b"a good day" in stored.content
    viewer = logged_in(evals.users["vic"]).get("/skills/evals/grader/datasets/")
    assert b"Upload a dataset" not in viewer.content and b"first" in viewer.content
    assert logged_in(evals.users["nobody"]).get("/skills/evals/grader/datasets/").status_code == 404


def test_create_follow_cancel_export_and_promote_from_the_pages(evals):
    ada = evals.users["ada"]
    dataset = datasets.create_dataset(ada, "evals", "grader", "pages", jsonl(EXAMPLES))
    client = logged_in(ada)
    form = client.get(f"/skills/evals/grader/evaluations/new?dataset={dataset.pk}")
    assert form.status_code == 200 and b"LLM judge" in form.content
    created = client.post(
        "/skills/evals/grader/evaluations/new",
        {
            "dataset": dataset.pk,
            "versions": [evals.v1.pk, evals.v2.pk],
            "concurrency": 2,
            "use_exact_match": "on",
            "use_numeric_tolerance": "on",
            "numeric_tolerance__path": "double",
            "numeric_tolerance__tolerance": "0.1",
            "use_latency": "on",
        },
    )
    evaluation = Evaluation.objects.get()
    assert created.status_code == 302 and created["Location"] == f"/evaluations/{evaluation.pk}/"
    assert evaluation.evaluators[1] == {
        "name": "numeric_tolerance",
        "options": {"path": "double", "tolerance": 0.1},
    }
    wait_for(evaluation)
    progress = client.get(f"/evaluations/{evaluation.pk}/progress").json()
    assert progress["status"] == "finished" and progress["done"] == progress["total"] == 8
    page = client.get(f"/evaluations/{evaluation.pk}/")
    html = page.content.decode()
    assert "4/4</strong> passed" in html and "0/4</strong> passed" in html
    assert "<svg" in html and "diff-add" in html and 'id="promote-form"' not in html  # ada may not deploy
    only = client.get(f"/evaluations/{evaluation.pk}/?differences=1").content.decode()
    assert only.count('class="differs"') == 4
    csv_export = client.get(f"/evaluations/{evaluation.pk}/export.csv")
    assert csv_export["Content-Disposition"].endswith('.csv"') and csv_export.content.count(b"\n") == 9
    assert client.get(f"/evaluations/{evaluation.pk}/export.json").json()["evaluation"]["id"] == evaluation.pk
    assert client.post(f"/evaluations/{evaluation.pk}/promote", {"version": evals.v2.pk}).status_code == 302
    assert not Promotion.objects.exists()

    dora = logged_in(evals.users["dora"])
    assert 'id="promote-form"' in dora.get(f"/evaluations/{evaluation.pk}/").content.decode()
    promoted = dora.post(
        f"/evaluations/{evaluation.pk}/promote", {"version": evals.v2.pk, "tag": "latest"}, follow=True
    )
    assert b"Tag latest now points at" in promoted.content
    assert Tag.objects.get(name="latest").version == evals.v2
    assert Promotion.objects.get().previous_version == evals.v1

    listing = client.get("/evaluations/").content.decode()
    assert f"#{evaluation.pk}" in listing and "pages" in listing
    skill_page = client.get("/skills/evals/grader/").content.decode()
    assert 'href="/skills/evals/grader/datasets/"' in skill_page


def test_cancel_from_the_page(evals):
    ada = evals.users["ada"]
    dataset = datasets.create_dataset(ada, "evals", "grader", "cancel", jsonl(EXAMPLES))
    evaluation = runner.create_evaluation(ada, dataset, [evals.v1.pk], ["latency"], start_now=False)
    client = logged_in(ada)
    assert b'id="cancel-form"' in client.get(f"/evaluations/{evaluation.pk}/").content
    response = client.post(f"/evaluations/{evaluation.pk}/cancel", follow=True)
    assert b"The evaluation was cancelled" in response.content
    evaluation.refresh_from_db()
    assert evaluation.status == "cancelled" and not evaluation.results.filter(status="").exists()


def test_admin_uploads_a_dataset_and_lists_evaluations(evals, settings):
    settings.ADMIN_REQUIRE_2FA = False
    admin = logged_in(evals.users["admin"])
    page = admin.get("/admin/evaluations/dataset/add/")
    assert page.status_code == 200
    bad = SimpleUploadedFile("bad.jsonl", b'{"input": {}}\n')
    rejected = admin.post(
        "/admin/evaluations/dataset/add/", {"skill": evals.v1.skill_id, "name": "adm", "file": bad}
    )
    assert rejected.status_code == 200 and b"line 1: text: field required" in rejected.content
    good = SimpleUploadedFile("good.jsonl", jsonl(EXAMPLES))
    stored = admin.post(
        "/admin/evaluations/dataset/add/", {"skill": evals.v1.skill_id, "name": "adm", "file": good}
    )
    assert stored.status_code == 302 and Dataset.objects.get().examples.count() == 4
    assert admin.get("/admin/evaluations/dataset/").status_code == 200
    assert admin.get("/admin/evaluations/evaluation/").status_code == 200
    assert admin.get("/admin/evaluations/promotion/").status_code == 200
    index = admin.get("/admin/").content.decode()
    assert "Evaluations" in index and "/admin/evaluations/dataset/" in index
