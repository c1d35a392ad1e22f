"""Dataset uploads: JSONL and CSV, every wrong line reported, nothing stored then."""

from __future__ import annotations

import pytest

from skills.evaluations import datasets
from skills.evaluations.models import Dataset
from skills.services.errors import Conflict, Forbidden, NotFound
from tests.evaluations.conftest import EXAMPLES, jsonl


def test_jsonl_with_envelopes_and_bare_inputs(evals):
    content = jsonl(EXAMPLES[:2]) + b'\n\n{"text": "bare input", "number": 4}\n'
    dataset = datasets.create_dataset(evals.users["ada"], "evals", "grader", "mixed", content)
    examples = list(dataset.examples.all())
    assert [e.position for e in examples] == [1, 2, 3]
    assert examples[0].expected == EXAMPLES[0]["expected"] and examples[2].input == {
        "text": "bare input",
        "number": 4,
    }
    assert examples[2].expected is None


def test_csv_with_input_columns_or_an_input_column(evals):
    by_columns = (
        b'text,number,expected,metadata\n"a good day",1,"{""label"": ""positive""}","{""k"": 1}"\nrain,2,,\n'
    )
    dataset = datasets.create_dataset(evals.users["ada"], "evals", "grader", "columns", by_columns, fmt="csv")
    first, second = dataset.examples.all()
    assert first.input == {"text": "a good day", "number": 1} and first.expected == {"label": "positive"}
    assert first.metadata == {"k": 1} and second.input == {"text": "rain", "number": 2}
    as_json = b'input,expected\n"{""text"": ""x""}",plain text\n'
    dataset = datasets.create_dataset(
        evals.users["ada"], "evals", "grader", "json-column", as_json, fmt="csv"
    )
    assert dataset.examples.get().expected == "plain text"


def test_every_wrong_line_is_reported_and_nothing_is_stored(evals):
    content = b'\n'.join([
        b'{"input": {"text": "fine"}}',
        b'{"input": {"number": 1}}',  # text missing
        b'{not json',
        b'{"input": {"text": 5, "number": "x"}}',
        b'{"input": {"text": "ok"}, "metadata": [1]}',
    ])  # fmt: skip
    with pytest.raises(datasets.DatasetRejected) as rejected:
        datasets.create_dataset(evals.users["ada"], "evals", "grader", "broken", content)
    errors = [(e.line, e.message) for e in rejected.value.errors]
    assert errors[0] == (2, "text: field required")
    assert errors[1][0] == 3 and "not valid JSON" in errors[1][1]
    assert (4, "text: expected a string") in errors and (4, "number: expected a number") in errors
    assert (5, "metadata must be a JSON object") in errors
    assert rejected.value.extra["errors"][0] == {"line": 2, "message": "text: field required"}
    assert not Dataset.objects.exists()


def test_csv_lines_are_numbered_as_in_an_editor(evals):
    content = b"text,number\nfine,1\n,2\nok,nope\n"
    with pytest.raises(datasets.DatasetRejected) as rejected:
        datasets.create_dataset(evals.users["ada"], "evals", "grader", "csv-broken", content, fmt="csv")
    assert [(e.line, e.message) for e in rejected.value.errors] == [
        (3, "text: field required"),
        (4, "number: expected a number"),
    ]


def test_names_roles_and_replacing(evals):
    ada = evals.users["ada"]
    datasets.create_dataset(ada, "evals", "grader", "one", jsonl(EXAMPLES))
    with pytest.raises(Conflict):
        datasets.create_dataset(ada, "evals", "grader", "one", jsonl(EXAMPLES))
    replaced = datasets.create_dataset(ada, "evals", "grader", "one", jsonl(EXAMPLES[:1]), replace=True)
    assert replaced.examples.count() == 1
    with pytest.raises(Forbidden):
        datasets.create_dataset(evals.users["vic"], "evals", "grader", "two", jsonl(EXAMPLES))
    with pytest.raises(NotFound):
        datasets.create_dataset(evals.users["nobody"], "evals", "grader", "two", jsonl(EXAMPLES))
    with pytest.raises(NotFound):
        datasets.create_dataset(ada, "evals", "nope", "two", jsonl(EXAMPLES))
    with pytest.raises(Exception, match="dataset name"):
        datasets.create_dataset(ada, "evals", "grader", "Bad Name", jsonl(EXAMPLES))
    with pytest.raises(Exception, match="no examples"):
        datasets.create_dataset(ada, "evals", "grader", "empty", b"\n\n")
