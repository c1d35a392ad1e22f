"""Input is checked against the version's input schema before a run exists (issue 15): field-level
errors instead of the SDK's pydantic traceback; a skill's own error trimmed to its meaningful line."""

from __future__ import annotations

import logging

import pytest

from skills.models import Run, SkillVersion
from skills.services import registry, validation

NESTED = {
    "$defs": {
        "Item": {
            "type": "object",
            "properties": {
                "count": {"type": "integer"},
                "label": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
            "required": ["count"],
        }
    },
    "type": "object",
    "properties": {
        "action": {"type": "string"},
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        "mode": {"enum": ["fast", "careful"]},
    },
    "required": ["action"],
}


@pytest.fixture
def hello(kernel, example_wasm):
    result = registry.register_version("test", "hello", example_wasm["hello"].read_bytes())
    assert result.version.status == "ready", result.version.failure_reason
    return result.version


def test_empty_object_to_hello_names_the_missing_field_and_stores_no_run(alice, hello):
    response = alice.run("test/hello", {})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["kind"] == "invalid_input"
    assert "name: field required" in error["message"]
    assert "Traceback" not in error["message"] and "pharia_skill" not in error["message"]
    assert error["errors"] == [{"path": "name", "message": "field required", "location": ["name"]}]
    assert not Run.objects.exists()  # rejected before acceptance, like invalid JSON


def test_a_wrong_type_is_named(alice, hello):
    response = alice.run("test/hello", {"name": 7, "note": ["x"]})
    assert response.status_code == 400
    assert [(e["path"], e["message"]) for e in response.json()["error"]["errors"]] == [
        ("name", "expected a string"),
        ("note", "expected a string"),
    ]


def test_valid_input_still_runs(alice, hello):
    response = alice.run("test/hello", {"name": "Ada"})
    assert response.status_code == 200 and response.json()["greeting"] == "Hello, Ada!"


def test_nested_errors_have_paths_into_lists_and_refs(alice):
    SkillVersion.objects.filter(skill__name="sink").update(input_schema=NESTED)
    response = alice.run(
        "test/sink", {"items": [{"count": 1}, {"count": "2", "label": 3}, {}], "mode": "slow"}
    )
    assert response.status_code == 400
    errors = [(e["path"], e["message"]) for e in response.json()["error"]["errors"]]
    assert errors == [  # in the schema's order: its properties, then what it requires
        ("items[1].count", "expected an integer"),
        ("items[1].label", "expected a string or null"),
        ("items[2].count", "field required"),
        ("mode", 'expected one of "fast", "careful"'),
        ("action", "field required"),
    ]
    assert response.json()["error"]["errors"][0]["location"] == ["items", 1, "count"]
    assert not Run.objects.exists()


def test_input_that_is_not_an_object_is_named_input(alice, hello):
    error = alice.run("test/hello", ["Ada"]).json()["error"]
    assert error["errors"] == [{"path": "input", "message": "expected an object", "location": []}]


def test_a_skill_without_a_schema_still_runs(alice):
    assert SkillVersion.objects.get(skill__name="stream").input_schema is None
    response = alice.client.post("/v1/skills/test/stream/message-stream", {"text": "a b"}, format="json")
    assert response.status_code == 200
    assert b'"type": "end"' in b"".join(response.streaming_content)


def test_a_schema_that_does_not_compile_does_not_block_runs(alice, caplog):
    SkillVersion.objects.filter(skill__name="sink").update(input_schema={"type": "no-such-type"})
    with caplog.at_level(logging.WARNING, logger="skills.services.validation"):
        for _ in range(2):
            response = alice.run("test/sink", {"action": "echo", "payload": 1})
            assert response.status_code == 200
    assert len([r for r in caplog.records if "does not compile" in r.message]) == 1  # logged once


def test_a_remote_ref_is_not_fetched_and_does_not_block(alice):
    SkillVersion.objects.filter(skill__name="sink").update(
        input_schema={"$ref": "http://127.0.0.1:9/schema.json"}
    )
    assert alice.run("test/sink", {"action": "echo", "payload": 1}).status_code == 200


def test_the_skills_own_error_is_trimmed_with_the_full_text_in_detail(alice):
    response = alice.run("test/sink", {"action": "nope"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["kind"], error["message"]) == ("internal", "ValueError: unknown action 'nope'")
    assert error["detail"].startswith("Traceback (most recent call last):")
    assert "kitchen_sink.py" in error["detail"]
    run = Run.objects.get()
    assert run.error_message == error["detail"]  # the stored run keeps everything


def test_a_plain_message_has_no_detail(alice, settings):
    settings.SKILL_TIMEOUT_SECONDS = 0.5
    error = alice.run("test/sink", {"action": "loop"}).json()["error"]
    assert "detail" not in error and "time limit" in error["message"]


PYDANTIC = """Traceback (most recent call last):
  File "/2/pharia_skill/skill.py", line 91, in run
  File "/2/pydantic/main.py", line 746, in model_validate_json
pydantic_core._pydantic_core.ValidationError: 2 validation errors for Input
name
  Field required [type=missing, input_value={}, input_type=dict]
    For further information visit https://errors.pydantic.dev/2.11/v/missing
items.0.count
  Input should be a valid integer [type=int_parsing, input_value='x', input_type=str]
    For further information visit https://errors.pydantic.dev/2.11/v/int_parsing
"""

CHAINED = """Traceback (most recent call last):
  File "/0/skill.py", line 3, in run
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/0/skill.py", line 5, in run
    raise ValueError("unknown action 'x'")
ValueError: unknown action 'x'
"""


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        (PYDANTIC, "name: Field required; items.0.count: Input should be a valid integer"),
        (CHAINED, "ValueError: unknown action 'x'"),
        ("bad on purpose", "bad on purpose"),
        ("", ""),
        ("Traceback (most recent call last):\n  File 'x'", "Traceback (most recent call last):\n  File 'x'"),
    ],
)
def test_trim_message(text, trimmed):
    assert validation.trim_message(text) == trimmed


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (
            {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}},
            {"n": 0},
            ("n", "must be at least 1"),
        ),
        ({"type": "object", "additionalProperties": False}, {"x": 1}, ("x", "unexpected field")),
        (
            {"type": "object", "properties": {"a b": {"type": "string"}}},
            {"a b": 1},
            ('["a b"]', "expected a string"),
        ),
        ({"type": "array", "minItems": 2}, [1], ("input", "must have at least 2 items")),
    ],
)
def test_field_error_messages(schema, value, expected):
    (error,) = validation.field_errors(schema, value)
    assert (error.path, error.message) == expected
