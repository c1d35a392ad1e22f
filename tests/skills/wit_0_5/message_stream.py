# world: message-stream-skill
"""A raw componentize-py guest of PhariaEngine's ``pharia:skill@0.5`` ``message-stream-skill`` world.

The JSON input's ``action`` (default ``"words"``) selects what is written to the stream:

* ``words``: message-begin (role ``role``, default none), one reasoning item per entry of
  ``reasoning`` (a list of strings, default none), one message-append ``"<word> "`` per word of
  ``text``, message-end with payload ``payload`` as JSON (default ``{"words": <count>}``; none if
  ``no_payload`` is true). ``fail_after: N`` returns an internal error after N appends;
  ``raise_after: N`` raises an uncaught exception (a trap) after N appends instead.
* ``chat``: forwards a ``chat-stream`` of ``model`` (default ``test-model``) on ``text``: begin with
  the stream's role, every reasoning chunk, every content chunk, then end with payload
  ``{"finish_reason": <WIT case>, "usage": {"prompt": n, "completion": n}}``.
* ``items``: writes ``items`` verbatim, e.g. ``[{"type": "message-begin", "role": null},
  {"type": "reasoning", "text": "..."}, {"type": "message-append", "text": "..."},
  {"type": "message-end", "payload": <json or null>}]`` (for protocol-violation tests).
* ``tool``: invokes tool ``tool`` (default ``add``) with ``arguments`` first, then streams its text
  output as one message (end payload ``{"ok": bool}``).
* ``internal_error`` / ``invalid_input``: return that error before writing anything.

Input that is not a JSON object returns invalid-input.
"""

import json

from wit_world import exports
from wit_world.exports.message_stream import Error_Internal, Error_InvalidInput
from wit_world.imports import inference, streaming_output as so, tool
from wit_world.types import Err, Ok


def _begin(output, role=None):
    output.write(so.MessageItem_MessageBegin(so.BeginAttributes(role=role)))


def _end(output, payload):
    output.write(so.MessageItem_MessageEnd(None if payload is None else json.dumps(payload).encode()))


def _words(request, output):
    words = request.get("text", "").split()
    _begin(output, request.get("role"))
    for chunk in request.get("reasoning") or []:
        output.write(so.MessageItem_Reasoning(chunk))
    for index, word in enumerate(words):
        if index == request.get("fail_after", -1):
            raise Err(Error_Internal(f"failed after {index} words"))
        if index == request.get("raise_after", -1):
            raise RuntimeError(f"raised after {index} words")
        output.write(so.MessageItem_MessageAppend(word + " "))
    if request.get("no_payload"):
        _end(output, None)
    else:
        _end(output, request["payload"] if "payload" in request else {"words": len(words)})


def _chat(request, output):
    params = inference.ChatParams(
        max_tokens=request.get("max_tokens"),
        max_completion_tokens=None,
        temperature=None,
        top_p=None,
        frequency_penalty=None,
        presence_penalty=None,
        logprobs=inference.Logprobs_No(),
        tools=None,
        tool_choice=None,
        parallel_tool_calls=None,
        response_format=None,
        reasoning_effort=None,
    )
    message = inference.Message_Other(inference.OtherMessage("user", request.get("text", "")))
    finish_reason, usage = None, None
    with inference.ChatStream(inference.ChatRequest(request.get("model", "test-model"), [message], params)) as stream:
        while (event := stream.next()) is not None:
            if isinstance(event, inference.ChatEvent_MessageBegin):
                _begin(output, event.value)
            elif isinstance(event, inference.ChatEvent_Reasoning):
                output.write(so.MessageItem_Reasoning(event.value))
            elif isinstance(event, inference.ChatEvent_MessageAppend):
                output.write(so.MessageItem_MessageAppend(event.value.content))
            elif isinstance(event, inference.ChatEvent_MessageEnd):
                finish_reason = event.value.name.lower().replace("_", "-")
            elif isinstance(event, inference.ChatEvent_Usage):
                usage = {"prompt": event.value.prompt, "completion": event.value.completion}
    _end(output, {"finish_reason": finish_reason, "usage": usage})


def _items(request, output):
    for item in request.get("items", []):
        kind = item["type"]
        if kind == "message-begin":
            _begin(output, item.get("role"))
        elif kind == "reasoning":
            output.write(so.MessageItem_Reasoning(item["text"]))
        elif kind == "message-append":
            output.write(so.MessageItem_MessageAppend(item["text"]))
        elif kind == "message-end":
            _end(output, item.get("payload"))
        else:
            raise Err(Error_InvalidInput(f"unknown item type {kind!r}"))


def _tool(request, output):
    arguments = [tool.Argument(k, json.dumps(v).encode()) for k, v in request.get("arguments", {}).items()]
    result = tool.invoke_tool([tool.InvokeRequest(request.get("tool", "add"), arguments)])[0]
    _begin(output)
    ok = isinstance(result, Ok)
    output.write(so.MessageItem_MessageAppend("".join(m.value for m in result.value) if ok else result.value))
    _end(output, {"ok": ok})


ACTIONS = {"words": _words, "chat": _chat, "items": _items, "tool": _tool}


class MessageStream(exports.MessageStream):
    def run(self, input: bytes, output: so.StreamOutput) -> None:
        try:
            request = json.loads(input)
            if not isinstance(request, dict):
                raise ValueError("expected a JSON object")
        except ValueError as error:
            raise Err(Error_InvalidInput(f"invalid input: {error}"))
        action = request.get("action", "words")
        if action == "internal_error":
            raise Err(Error_Internal(request.get("text") or "the skill failed on purpose"))
        if action == "invalid_input":
            raise Err(Error_InvalidInput(request.get("text") or "the input is invalid on purpose"))
        if action not in ACTIONS:
            raise Err(Error_InvalidInput(f"unknown action {action!r}"))
        with output:
            ACTIONS[action](request, output)
