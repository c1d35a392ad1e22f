"""In Chromium: upload a dataset (errors per line), start an evaluation, watch it live, cancel,
read the results and promote the better version. The CSP check of ``page`` applies throughout."""

from __future__ import annotations

import pytest

from skills.evaluations import datasets, runner
from skills.evaluations.models import Evaluation, Promotion
from skills.models import Tag
from tests.browser.conftest import log_in, shot
from tests.evaluations.conftest import EXAMPLES, evals, grader_wasm, jsonl  # noqa: F401 - fixtures
from tests.support.openai_server import OpenAITestServer

pytestmark = [pytest.mark.browser]


def test_upload_shows_errors_per_line_then_stores_the_dataset(evals, page, tmp_path):  # noqa: F811
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"input": {"text": "ok"}}\n{"input": {"number": 2}}\n{oops\n')
    good = tmp_path / "good.csv"
    good.write_text("text,number\na good day,1\nnot good at all,3\n")
    log_in(page, "ada")
    page.goto("/skills/evals/grader/")
    page.click("#skill-evaluations")
    page.fill("#id_name", "browser")
    page.set_input_files("#id_file", str(bad))
    page.click("#upload-form button[type=submit]")
    errors = page.locator("#upload-errors table.line-errors tbody tr")
    assert errors.count() == 2
    assert errors.nth(0).inner_text().split() == ["2", "text:", "field", "required"]
    assert errors.nth(1).inner_text().startswith("3")
    shot(page, "evaluations-upload-errors")
    page.set_input_files("#id_file", str(good))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/datasets/*/")
    assert "stored with 2 examples" in page.inner_text(".messages")
    assert page.locator("table.examples tbody tr").count() == 2
    shot(page, "evaluations-dataset")


def test_evaluation_page_follows_progress_and_promotes(evals, page, settings):  # noqa: F811
    admin = evals.users["admin"]
    slow = {"input": {"text": "a good day, slowly", "ask": True, "model": "slow-model"}}
    with OpenAITestServer(delay=0.6) as server:
        settings.OPENAI_INFERENCE_URL = server.url
        dataset = datasets.create_dataset(admin, "evals", "grader", "live", jsonl([*EXAMPLES, slow, slow]))
        log_in(page, "admin")
        page.goto(f"/skills/evals/grader/evaluations/new?dataset={dataset.pk}")
        page.check(f"input[name=versions][value='{evals.v1.pk}']")
        page.check(f"input[name=versions][value='{evals.v2.pk}']")
        page.check("#id_use_exact_match")
        page.check("#id_use_field_equals")
        page.fill("#id_field_equals__path", "label")
        page.check("#id_use_latency")
        page.fill("#id_concurrency", "1")
        page.click("#start-evaluation")
        page.wait_for_url("**/evaluations/*/")
        assert page.inner_text("#evaluation-status") in ("queued", "running")
        # the page polls: the status turns without a reload
        page.wait_for_selector("#evaluation-status:text('finished')", timeout=30_000)
        page.wait_for_selector("#progress-reload:not([hidden])")
        assert page.inner_text("#progress-done") == "12"
    page.click("#progress-reload a")
    page.wait_for_selector("#scores table.scores")
    scores = page.inner_text("#scores")
    assert "4/4 passed" in scores and "0/4 passed" in scores
    assert page.locator("#charts svg").count() >= 2
    assert page.locator("#results pre.diff .diff-add").count() > 0
    shot(page, "evaluations-results")
    page.select_option("#promote-version", str(evals.v2.pk))
    page.click("#promote-button")
    page.wait_for_selector(".messages")
    assert "Tag latest now points at" in page.inner_text(".messages")
    assert Tag.objects.get(name="latest").version == evals.v2 and Promotion.objects.count() == 1
    assert "latest → " in page.inner_text("#promote ul.promotions")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert download.value.suggested_filename.endswith(".csv")


def test_cancel_from_the_evaluation_page(evals, page, settings):  # noqa: F811
    ada = evals.users["ada"]
    slow = [{"input": {"text": f"slow {i}", "ask": True, "model": "slow-model"}} for i in range(5)]
    with OpenAITestServer(delay=1.0) as server:
        settings.OPENAI_INFERENCE_URL = server.url
        dataset = datasets.create_dataset(ada, "evals", "grader", "cancel", jsonl(slow))
        evaluation = runner.create_evaluation(ada, dataset, [evals.v1.pk], ["latency"], concurrency=1)
        log_in(page, "ada")
        page.goto(f"/evaluations/{evaluation.pk}/")
        page.click("#cancel-button")
        page.wait_for_selector(".messages")
        assert "cancelled" in page.inner_text("#evaluation-status")
        assert page.locator("#cancel-form").count() == 0
        shot(page, "evaluations-cancelled")
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.CANCELLED
