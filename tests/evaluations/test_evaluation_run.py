"""An evaluation of two versions of the grader over a dataset, scored by every evaluator."""

from __future__ import annotations

import time

import pytest

from skills.evaluations import datasets, results, runner
from skills.evaluations.models import Evaluation, EvaluationResult
from skills.models import Run
from tests.evaluations.conftest import EXAMPLES, jsonl
from tests.support.openai_server import OpenAITestServer

JUDGE_PROMPT = "Reply PASS or FAIL. Input {input}. Output {output}. Expected {expected}."
EVERY_EVALUATOR = [
    "exact_match",
    "json_schema",
    {"name": "field_equals", "options": {"path": "label"}},
    {"name": "field_contains", "options": {"path": "answer", "value": "echo"}},
    {"name": "numeric_tolerance", "options": {"path": "double", "tolerance": 0.1}},
    {"name": "latency", "options": {"max_ms": 5000}},
    {"name": "token_cost", "options": {"max_tokens": 100, "price_per_1k": 2}},
    {"name": "llm_judge", "options": {"model": "test-model", "prompt": JUDGE_PROMPT}},
]


@pytest.fixture
def openai_server(settings):
    with OpenAITestServer() as server:
        settings.OPENAI_INFERENCE_URL = server.url
        yield server


def wait_for(evaluation: Evaluation, timeout: float = 60) -> Evaluation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        evaluation.refresh_from_db()
        if evaluation.is_terminal:
            return evaluation
        time.sleep(0.05)
    raise AssertionError(f"evaluation still {evaluation.status}: {runner.progress(evaluation)}")


def test_two_versions_compared_with_every_evaluator(evals, openai_server):
    ada = evals.users["ada"]
    asking = {"input": {"text": "tell me", "ask": True}, "metadata": {"kind": "llm"}}
    dataset = datasets.create_dataset(ada, "evals", "grader", "smoke", jsonl([*EXAMPLES, asking]))
    evaluation = runner.create_evaluation(
        ada, dataset, [evals.v1.pk, evals.v2.pk], EVERY_EVALUATOR, concurrency=3
    )
    evaluation = wait_for(evaluation)
    assert evaluation.status == Evaluation.FINISHED, evaluation.error_message
    assert runner.progress(evaluation)["done"] == 10 == evaluation.total

    # every example is a normal run of the version, linked from its result
    rows = EvaluationResult.objects.filter(evaluation=evaluation).select_related("run")
    assert {(r.run.version_id, r.run.tag, r.run.mode, r.run.caller_id) for r in rows} == {
        (evals.v1.pk, "", Run.ASYNC, ada.pk),
        (evals.v2.pk, "", Run.ASYNC, ada.pk),
    }
    assert all(r.status == Run.SUCCEEDED == r.run.status for r in rows)

    by = {(a.key, a.version_id): a for a in results.aggregates(evaluation)}
    v1, v2 = evals.v1.pk, evals.v2.pk
    assert (by["exact_match", v1].passed, by["exact_match", v2].passed) == (0, 4)
    assert by["exact_match", v2].not_applicable == 1  # the example without an expected output
    assert (by["json_schema", v1].passed, by["json_schema", v2].passed) == (5, 5)
    assert (by["field_equals:label", v1].passed, by["field_equals:label", v2].passed) == (2, 4)
    assert by["field_contains:answer", v2].passed == 1 and by["field_contains:answer", v2].n == 5
    assert (by["numeric_tolerance:double", v1].passed, by["numeric_tolerance:double", v2].passed) == (0, 4)
    assert by["latency", v1].n == 5 and by["latency", v1].mean > 0 and by["latency", v1].passed == 5
    # tokens from the trace: only the asking example calls inference ("tell me" + 8 tokens at most)
    tokens = {r.example.position: r.scores["token_cost"]["value"] for r in rows.filter(version=evals.v2)}
    assert tokens[5] > 0 and all(tokens[p] == 0 for p in range(1, 5)), tokens
    # the judge saw the rendered prompt; the echo model repeats it, so its last verdict is FAIL
    judged = [r for r in openai_server.requests if "Reply PASS or FAIL" in str(r)]
    assert len(judged) == 10
    assert by["llm_judge", v1].passed == 0 and by["llm_judge", v1].n == 5

    # intervals: Wilson for 4/4 is below 1 at the bottom, 1 at the top
    assert 0.4 < by["exact_match", v2].rate_low < 1 and by["exact_match", v2].rate_high == 1
    table = results.table(evaluation)
    assert len(table) == 5 and all(len(row.cells) == 2 for row in table)
    assert table[0].differs and any(line["kind"] == "add" for line in table[0].cells[1].diff)
    csv_text = results.export_csv(evaluation)
    assert csv_text.count("\n") == 11 and "exact_match.passed" in csv_text.splitlines()[0]
    exported = results.export_json(evaluation)
    assert len(exported["results"]) == 10 and exported["evaluation"]["status"] == "finished"


def test_a_failing_run_is_recorded_and_the_evaluation_still_finishes(evals, settings):
    settings.OPENAI_INFERENCE_URL = ""  # the asking example fails with csi_error
    ada = evals.users["ada"]
    dataset = datasets.create_dataset(
        ada, "evals", "grader", "fails", jsonl([EXAMPLES[0], {"input": {"text": "x", "ask": True}}])
    )
    evaluation = wait_for(runner.create_evaluation(ada, dataset, [evals.v2.pk], ["exact_match", "latency"]))
    assert evaluation.status == Evaluation.FINISHED
    statuses = dict(
        EvaluationResult.objects.filter(evaluation=evaluation).values_list("example__position", "status")
    )
    assert statuses == {1: "succeeded", 2: "failed"}
    failed = EvaluationResult.objects.get(evaluation=evaluation, example__position=2)
    assert failed.run.error_kind == "csi_error"
    assert failed.scores["exact_match"]["passed"] is None  # no expected output: not applicable


def test_a_restarted_driver_does_not_redo_finished_examples(evals):
    ada = evals.users["ada"]
    dataset = datasets.create_dataset(ada, "evals", "grader", "resume", jsonl(EXAMPLES))
    evaluation = runner.create_evaluation(ada, dataset, [evals.v1.pk], ["exact_match"], start_now=False)
    first = EvaluationResult.objects.filter(evaluation=evaluation).order_by("example__position")[:2]
    # a driver that died after two examples: their runs ended, nothing else started
    for result in first:
        run = Run.objects.create(
            skill=evaluation.skill, version=evals.v1, input="{}", status=Run.SUCCEEDED, output="{}"
        )
        EvaluationResult.objects.filter(pk=result.pk).update(run=run, status=Run.SUCCEEDED)
    Evaluation.objects.filter(pk=evaluation.pk).update(status=Evaluation.RUNNING, driver="gone:1")
    runner.drive(evaluation.pk)
    evaluation.refresh_from_db()
    assert evaluation.status == Evaluation.FINISHED
    assert Run.objects.filter(evaluation_results__evaluation=evaluation).count() == 4
    assert Run.objects.count() == 4  # two from before, two new ones
    assert runner.drive(evaluation.pk).status == Evaluation.FINISHED  # a duplicate driver: no-op
    assert Run.objects.count() == 4


def test_cancel_stops_new_runs_and_cancels_the_running_ones(evals, settings):
    ada = evals.users["ada"]
    slow = [{"input": {"text": f"slow {i}", "ask": True, "model": "slow-model"}} for i in range(6)]
    with OpenAITestServer(delay=1.0) as server:
        settings.OPENAI_INFERENCE_URL = server.url
        dataset = datasets.create_dataset(ada, "evals", "grader", "slow", jsonl(slow))
        evaluation = runner.create_evaluation(
            ada, dataset, [evals.v1.pk, evals.v2.pk], ["latency"], concurrency=2
        )
        deadline = time.monotonic() + 20
        while not Run.objects.filter(status=Run.RUNNING).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        cancelled = runner.cancel_evaluation(ada, evaluation.pk)
        assert cancelled.status == Evaluation.CANCELLED
        evaluation = wait_for(evaluation)
        deadline = time.monotonic() + 10
        while (
            EvaluationResult.objects.filter(evaluation=evaluation, status="").exists()
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    statuses = list(EvaluationResult.objects.filter(evaluation=evaluation).values_list("status", flat=True))
    assert "" not in statuses and statuses.count(Run.CANCELLED) >= 10, statuses
    assert Run.objects.filter(evaluation_results__evaluation=evaluation).count() <= 4  # at most two rounds
    assert not Run.objects.filter(status__in=[Run.QUEUED, Run.RUNNING]).exists()
    with pytest.raises(Exception, match="already ended cancelled"):
        runner.cancel_evaluation(ada, evaluation.pk)
