"""Every world PhariaEngine runs, run here through the kernel API against the real loopback backends:
0.2 and 0.5 guests built with componentize-py against PhariaEngine's WIT, 0.3 skills from
pharia-skill 0.20.0, and 0.4 skills from the SDK's current source (tool calling, structured output,
reasoning). Each world: registration (world, version, metadata), run, message-stream where it
exists, every CSI function it imports, and the skill error kinds."""

from __future__ import annotations

import json

import pytest

from skills.services import registry
from tests.support.openai_server import OpenAITestServer
from tests.support.sse import events

# kernel name -> (world_wasm key, world, WIT version)
GUESTS = {
    "w02": ("wit_0_2/kitchen_sink", "skill", "0.2.10"),
    "w03": ("sdk_0_20/kitchen_sink", "skill", "0.3.11"),
    "w03-stream": ("sdk_0_20/stream_skill", "message-stream-skill", "0.3.11"),
    "w04": ("sdk_main/kitchen_sink", "skill", "0.4.0"),
    "w04-tools": ("sdk_main/tool_calling", "skill", "0.4.0"),
    "w04-json": ("sdk_main/structured_output", "skill", "0.4.0"),
    "w04-stream": ("sdk_main/stream_reasoning", "message-stream-skill", "0.4.0"),
    "w05": ("wit_0_5/kitchen_sink", "skill", "0.5.0"),
    "w05-stream": ("wit_0_5/message_stream", "message-stream-skill", "0.5.0"),
}


@pytest.fixture(scope="module")
def openai_server():
    with OpenAITestServer() as server:
        yield server


@pytest.fixture
def worlds(kernel, world_wasm, settings, openai_server, document_index):
    """The test namespace with one skill per guest, and the loopback backends configured."""
    settings.OPENAI_INFERENCE_URL = openai_server.url
    settings.DOCUMENT_INDEX_URL = document_index.url
    versions = {}
    for name, (key, _, _) in GUESTS.items():
        result = registry.register_version("test", name, world_wasm[key].read_bytes())
        assert result.version.status == "ready", (name, result.version.failure_reason)
        versions[name] = result.version
    return versions


def run(caller, skill: str, **fields):
    response = caller.run(f"test/{skill}", fields)
    return response.status_code, response.json()


def result(caller, skill: str, **fields):
    status, body = run(caller, skill, **fields)
    assert status == 200, (skill, fields, body)
    return body["result"] if isinstance(body, dict) and "result" in body else body


def stream(caller, skill: str, **fields):
    return events(caller.client.post(f"/v1/skills/test/{skill}/message-stream", fields, format="json"))


# -- registration -----------------------------------------------------------------------------------


def test_each_world_registers_with_its_version_and_metadata(worlds, alice):
    for name, (_, world, wit_version) in GUESTS.items():
        version = worlds[name]
        assert (version.world, version.wit_version) == (world, wit_version), name
    assert worlds["w02"].description == "" and worlds["w02"].input_schema is None  # 0.2: no metadata
    assert worlds["w05"].description.startswith("Test skill for pharia:skill@0.5.0")
    assert worlds["w05"].input_schema["required"] == ["action"]
    assert worlds["w04-json"].input_schema["properties"]["text"]
    metadata = alice.client.get("/v1/skills/test/w05-stream/metadata").json()
    assert metadata["type"] == "chat" and not metadata["description"]
    listed = alice.client.get("/v1/skills?type=chat").json()
    assert {"test/w03-stream", "test/w04-stream", "test/w05-stream"} <= set(listed)
    assert "test/w02" not in listed


# -- 0.2 --------------------------------------------------------------------------------------------


def test_v0_2_calls_every_function_of_its_csi(worlds, alice, openai_server):
    assert result(alice, "w02", action="echo", payload={"a": [1, 2]}) == {"a": [1, 2]}
    assert result(alice, "w02", action="complete", text="hello world") == {
        "text": "echo: hello world",
        "finish_reason": "stop",
    }
    assert openai_server.requests[-1]["prompt"] == "hello world"
    result(alice, "w02", action="complete_return_special_tokens", text="x")
    assert openai_server.requests[-1]["skip_special_tokens"] is False
    assert [c["text"] for c in result(alice, "w02", action="complete_all", prompts=["a", "b"])] == [
        "echo: a",
        "echo: b",
    ]
    chat = result(
        alice,
        "w02",
        action="chat",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
    )
    assert chat == {"role": "assistant", "content": "echo: hi", "finish_reason": "stop"}
    chunks = result(
        alice, "w02", action="chunk", text="One sentence here. " * 10, model="gpt-4o", max_tokens=8
    )
    assert len(chunks) > 1 and "".join(chunks).count("One") == 10
    german = "Dies ist ein deutscher Satz über das Wetter."
    assert result(alice, "w02", action="select_language", text=german) == "deu"
    found = result(alice, "w02", action="search", text="kernel skills")
    assert found[0]["content"] == "The Pharia Kernel runs skills as WebAssembly components."
    assert set(found[0]) == {"document_path", "content", "score"}  # 0.2 has no cursors
    assert result(alice, "w02", action="document_metadata", text="kernel/faq") == {"lang": "en"}
    documents = result(alice, "w02", action="documents", names=["homer", "kernel/faq"])
    assert documents[0]["contents"] == [{"type": "text", "text": "Hello Homer"}]
    assert documents[1]["contents"][1] == {"type": "image"}


def test_v0_2_tool_calls_of_the_model_read_as_a_plain_stop(worlds, alice):
    # 0.2 knows no tools: a backend's tool-call answer must not break it.
    chat = result(alice, "w02", action="chat", model="tool-model", text="weather?")
    assert chat["finish_reason"] == "stop" and chat["content"] == ""


# -- 0.4 (the SDK's current source) ----------------------------------------------------------------


def test_v0_4_calls_every_csi_function(worlds, alice, openai_server):
    assert result(alice, "w04", action="echo", payload=[1]) == [1]
    completion = result(alice, "w04", action="complete", text="hello world")
    assert completion["text"] == "echo: hello world" and completion["finish_reason"] == "stop"
    assert result(alice, "w04", action="completion_stream", text="a b", max_tokens=2)["text"] == "echo: a"
    chat = result(alice, "w04", action="chat", text="hi")
    assert (chat["role"], chat["content"], chat["finish_reason"]) == ("assistant", "echo: hi", "stop")
    assert [c["content"] for c in result(alice, "w04", action="chat_concurrent", texts=["a", "b"])] == [
        "echo: a",
        "echo: b",
    ]
    streamed = result(alice, "w04", action="chat_stream", text="x y", model="reasoning-model")
    assert streamed["content"] == "echo: x y" and streamed["reasoning"] == "Thinking about: x y"
    assert result(alice, "w04", action="select_language", text="Dies ist ein deutscher Satz.") == "deu"
    chunks = result(
        alice, "w04", action="chunk", text="One sentence here. " * 10, model="gpt-4o", max_tokens=8
    )
    assert len(chunks) > 1 and chunks[0][1] == 0
    found = result(alice, "w04", action="search", text="kernel skills")
    assert found[0]["content"] == "The Pharia Kernel runs skills as WebAssembly components."
    assert result(alice, "w04", action="document_metadata", text="kernel/faq", name="kernel/faq") == {
        "lang": "en"
    }
    assert result(alice, "w04", action="invoke_tool", tool="add", arguments={"a": 2, "b": 3})["contents"] == [
        "5"
    ]
    assert [t["name"] for t in result(alice, "w04", action="list_tools")] == ["add", "saboteur", "subtract"]


def test_v0_4_chat_tool_calling_through_the_openai_backend(worlds, alice, openai_server):
    answer = result(alice, "w04-tools", question="What is 1 + 2?", tools=["add"])
    assert answer["answer"] == "The tool said: 3"
    assert answer["calls"] == [
        {"id": "call_0", "name": "add", "arguments": {"a": 1, "b": 2}, "result": "3", "ok": True}
    ]
    assert answer["finish_reasons"] == ["tool_calls", "stop"]
    first, second = openai_server.requests[-2:]
    assert first["tools"][0]["type"] == "function" and first["tools"][0]["function"]["name"] == "add"
    assert second["messages"][1]["tool_calls"][0] == {
        "id": "call_0",
        "type": "function",
        "function": {"name": "add", "arguments": '{"a": 1, "b": 2}'},
    }
    assert second["messages"][2] == {"role": "tool", "content": "3", "tool_call_id": "call_0"}


@pytest.mark.parametrize(
    ("choice", "wire"),
    [("required", "required"), ("add", {"type": "function", "function": {"name": "add"}})],
)
def test_v0_4_tool_choice_reaches_the_backend(worlds, alice, openai_server, choice, wire):
    result(alice, "w04-tools", question="1 + 2?", tools=["add"], tool_choice=choice)
    assert openai_server.requests[-2]["tool_choice"] == wire


def test_v0_4_structured_output_with_a_json_schema(worlds, alice, openai_server):
    review = result(alice, "w04-json", text="Metropolis")
    assert review == {"title": "text", "year": 1, "rating": 1.5, "recommended": True}
    response_format = openai_server.requests[-1]["response_format"]
    assert response_format["type"] == "json_schema"
    assert (
        response_format["json_schema"]["name"] == "review"
        and response_format["json_schema"]["strict"] is True
    )
    assert set(response_format["json_schema"]["schema"]["properties"]) == {
        "title",
        "year",
        "rating",
        "recommended",
    }


def test_v0_4_message_stream_streams_reasoning_in_pharia_engines_shape(worlds, alice):
    received = stream(alice, "w04-stream", text="why is the sky blue")
    assert received[0] == ("message", {"type": "begin"})
    reasoning = [data for name, data in received if name == "reasoning"]
    assert reasoning and all(
        set(item) == {"type", "text"} and item["type"] == "reasoning" for item in reasoning
    )
    assert "".join(item["text"] for item in reasoning) == "Thinking about: why is the sky blue"
    text = "".join(data["text"] for name, data in received if name == "message" and data["type"] == "append")
    assert text == "echo: why is the sky blue"
    name, end = received[-1]
    assert name == "message" and end["type"] == "end" and end["payload"]["finish_reason"] == "stop"


def test_v0_4_stream_failing_midway_ends_with_an_error_event(worlds, alice):
    received = stream(alice, "w04-stream", text="one two three", model="test-model", fail_after=1)
    assert received[0] == ("message", {"type": "begin"})
    name, error = received[-1]
    assert name == "error" and "failed after 1 appends" in error["message"] and set(error) == {"message"}


# -- 0.5 --------------------------------------------------------------------------------------------


def test_v0_5_calls_every_csi_function(worlds, alice, openai_server):
    completion = result(alice, "w05", action="complete", text="a b", logprobs="sampled")
    assert completion["text"] == "echo: a b" and completion["usage"] == {"prompt": 2, "completion": 3}
    assert len(completion["logprobs"]) == 3
    streamed = result(alice, "w05", action="completion_stream", text="a")
    assert streamed["text"] == "echo: a" and streamed["events"][-1]["type"] == "usage"
    chat = result(
        alice,
        "w05",
        action="chat",
        text="add them",
        tools=[{"name": "add", "parameters": {"type": "object", "properties": {"a": {"type": "integer"}}}}],
        tool_choice="auto",
        parallel_tool_calls=False,
        reasoning_effort="low",
        max_completion_tokens=50,
    )
    assert chat["finish_reason"] == "tool-calls"
    assert chat["message"]["content"] is None
    assert chat["message"]["tool_calls"] == [{"id": "call_0", "name": "add", "arguments": '{"a": 1}'}]
    wire = openai_server.requests[-1]
    assert (wire["tool_choice"], wire["parallel_tool_calls"], wire["reasoning_effort"]) == (
        "auto",
        False,
        "low",
    )
    assert wire["max_completion_tokens"] == 50
    json_object = result(alice, "w05", action="chat", text="hi", response_format="json_object")
    assert json.loads(json_object["message"]["content"]) == {"echo": "hi"}
    reasoned = result(alice, "w05", action="chat", text="hi", model="reasoning-model")
    assert reasoned["message"]["reasoning_content"] == "Thinking about: hi"
    chunks = result(
        alice,
        "w05",
        action="chat_stream",
        text="go",
        model="reasoning-model",
        tools=[
            {
                "name": "add",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                },
            }
        ],
    )
    assert chunks["reasoning"] == "Thinking about: go"
    assert chunks["tool_calls"] == [{"id": "call_0", "name": "add", "arguments": '{"a": 1, "b": 2}'}]
    kinds = [event["type"] for event in chunks["events"]]
    assert kinds[0] == "message-begin" and "reasoning" in kinds and "tool-call" in kinds
    offsets = result(
        alice,
        "w05",
        action="chunk_with_offsets",
        text="One sentence here. " * 10,
        model="gpt-4o",
        max_tokens=8,
    )
    assert offsets[0]["byte_offset"] == 0 and offsets[1]["character_offset"] > 0
    found = result(alice, "w05", action="search", text="kernel skills")
    assert found[0]["start"] == {"item": 0, "position": 0}
    assert result(alice, "w05", action="documents", text="homer")["contents"][0]["text"] == "Hello Homer"
    assert result(alice, "w05", action="document_metadata", text="kernel/faq") == {"lang": "en"}
    assert result(alice, "w05", action="select_language", text="The weather is nice today.") == "eng"
    assert result(alice, "w05", action="invoke_tool", tool="subtract", arguments={"a": 5, "b": 3}) == {
        "ok": True,
        "contents": ["2"],
    }
    assert result(alice, "w05", action="invoke_tool", tool="saboteur") == {
        "ok": False,
        "error": "Out of cheese.",
    }
    assert [tool["name"] for tool in result(alice, "w05", action="list_tools")] == [
        "add",
        "saboteur",
        "subtract",
    ]


def test_v0_5_message_stream_with_reasoning_items(worlds, alice):
    received = stream(alice, "w05-stream", text="one two", reasoning=["hmm, ", "yes"])
    assert received == [
        ("message", {"type": "begin"}),
        ("reasoning", {"type": "reasoning", "text": "hmm, "}),
        ("reasoning", {"type": "reasoning", "text": "yes"}),
        ("message", {"type": "append", "text": "one "}),
        ("message", {"type": "append", "text": "two "}),
        ("message", {"type": "end", "payload": {"words": 2}}),
    ]
    received = stream(alice, "w05-stream", action="tool", tool="saboteur")
    assert received[:2] == [
        ("tool", {"type": "begin", "name": "saboteur"}),
        ("tool", {"type": "error", "name": "saboteur", "message": "Out of cheese."}),
    ]


# -- errors, every world ------------------------------------------------------------------------------


@pytest.mark.parametrize("skill", ["w02", "w05"])
def test_raw_guests_report_each_error_kind(worlds, alice, skill):
    status, body = run(alice, skill, action="invalid_input", text="bad on purpose")
    assert (status, body["error"]["kind"], body["error"]["message"]) == (
        400,
        "invalid_input",
        "bad on purpose",
    )
    status, body = run(alice, skill, action="internal_error", text="broken on purpose")
    assert (status, body["error"]["kind"]) == (400, "internal") and "broken on purpose" in body["error"][
        "message"
    ]
    status, body = run(alice, skill, action="raise")
    assert (status, body["error"]["kind"]) == (500, "trap")


@pytest.mark.parametrize("skill", ["w03", "w04"])
def test_sdk_skills_report_each_error_kind(worlds, alice, skill):
    status, body = run(alice, skill, action="raise", text="the skill failed on purpose")
    assert (status, body["error"]["kind"]) == (400, "internal")
    assert "RuntimeError: the skill failed on purpose" in body["error"]["message"]
    status, body = run(alice, skill, text="no action")
    assert (status, body["error"]["kind"]) == (400, "invalid_input")


def test_a_stream_skill_of_every_stream_world_fails_cleanly(worlds, alice):
    for skill, fields in [
        ("w03-stream", {"text": "a b c", "fail_after": 1}),
        ("w05-stream", {"text": "a b c", "fail_after": 1}),
    ]:
        received = stream(alice, skill, **fields)
        assert received[0] == ("message", {"type": "begin"}), skill
        assert received[-1][0] == "error" and "failed after 1" in received[-1][1]["message"], skill
