# world: skill
"""A raw componentize-py guest of PhariaEngine's ``pharia:skill@0.5`` ``skill`` world (stdlib only).

The JSON input ``{"action": ..., ...}`` selects the behaviour; the output is
``{"action": <action>, "result": <result>}``. Enum and variant names are the WIT case names
(``"stop"``, ``"tool-calls"``, ``"message-append"``, ...); record fields are snake_case.
"""

import json

from wit_world import exports
from wit_world.exports import skill_handler
from wit_world.exports.skill_handler import Error_Internal, Error_InvalidInput
from wit_world.imports import chunking, document_index, inference, language, tool
from wit_world.types import Err, Ok

DESCRIPTION = "Test skill for pharia:skill@0.5.0: its input selects the behaviour"
INPUT_SCHEMA = {
    "type": "object",
    "properties": {"action": {"type": "string"}, "text": {"type": "string"}},
    "required": ["action"],
}
OUTPUT_SCHEMA = {
    "type": "object",
    "properties": {"action": {"type": "string"}, "result": {}},
    "required": ["action"],
}


def _case(value):
    return value.name.lower().replace("_", "-")


def _json_or_none(raw):
    return None if raw is None else json.loads(raw)


def _bytes_or_none(value):
    return None if value is None else json.dumps(value).encode()


# -- inference ---------------------------------------------------------------------------------


def _logprobs(value):
    if value in (None, "no"):
        return inference.Logprobs_No()
    if value == "sampled":
        return inference.Logprobs_Sampled()
    return inference.Logprobs_Top(int(value))


def _logprob(logprob):
    return {"token": logprob.token.decode("utf-8", "replace"), "logprob": logprob.logprob}


def _distributions(distributions):
    return [{"sampled": _logprob(d.sampled), "top": [_logprob(t) for t in d.top]} for d in distributions]


def _usage(usage):
    return {"prompt": usage.prompt, "completion": usage.completion}


def _completion_request(request, prompt):
    params = inference.CompletionParams(
        max_tokens=request.get("max_tokens"),
        temperature=request.get("temperature"),
        top_k=request.get("top_k"),
        top_p=request.get("top_p"),
        stop=list(request.get("stop", [])),
        return_special_tokens=bool(request.get("return_special_tokens", False)),
        frequency_penalty=request.get("frequency_penalty"),
        presence_penalty=request.get("presence_penalty"),
        logprobs=_logprobs(request.get("logprobs")),
        echo=bool(request.get("echo", False)),
    )
    return inference.CompletionRequest(request.get("model", "test-model"), prompt, params)


def _completion(completion):
    return {
        "text": completion.text,
        "finish_reason": _case(completion.finish_reason),
        "logprobs": _distributions(completion.logprobs),
        "usage": _usage(completion.usage),
    }


def _message(message):
    role = message["role"]
    if role == "assistant":
        calls = message.get("tool_calls")
        return inference.Message_Assistant(
            inference.AssistantMessage(
                content=message.get("content"),
                reasoning_content=message.get("reasoning_content"),
                tool_calls=None
                if calls is None
                else [
                    inference.ToolCall(
                        id=c["id"],
                        name=c["name"],
                        arguments=c["arguments"] if isinstance(c["arguments"], str) else json.dumps(c["arguments"]),
                    )
                    for c in calls
                ],
            )
        )
    if role == "tool":
        return inference.Message_Tool(inference.ToolMessage(message["content"], message["tool_call_id"]))
    return inference.Message_Other(inference.OtherMessage(role, message["content"]))


def _tool_choice(value):
    if value is None:
        return None
    if value == "none":
        return inference.ToolChoice_None_()
    if value == "auto":
        return inference.ToolChoice_Auto()
    if value == "required":
        return inference.ToolChoice_Required()
    if isinstance(value, dict):
        return inference.ToolChoice_Named(value["named"])
    return inference.ToolChoice_Named(value)


def _response_format(value):
    if value is None:
        return None
    if value == "text":
        return inference.ResponseFormat_Text()
    if value == "json_object":
        return inference.ResponseFormat_JsonObject()
    schema = value["json_schema"]
    return inference.ResponseFormat_JsonSchema(
        inference.JsonSchema(
            description=schema.get("description"),
            name=schema["name"],
            schema=_bytes_or_none(schema.get("schema")),
            strict=schema.get("strict"),
        )
    )


def _chat_request(request):
    tools = request.get("tools")
    effort = request.get("reasoning_effort")
    params = inference.ChatParams(
        max_tokens=request.get("max_tokens"),
        max_completion_tokens=request.get("max_completion_tokens"),
        temperature=request.get("temperature"),
        top_p=request.get("top_p"),
        frequency_penalty=request.get("frequency_penalty"),
        presence_penalty=request.get("presence_penalty"),
        logprobs=_logprobs(request.get("logprobs")),
        tools=None
        if tools is None
        else [
            inference.Function(
                name=t["name"],
                description=t.get("description"),
                parameters=_bytes_or_none(t.get("parameters")),
                strict=t.get("strict"),
            )
            for t in tools
        ],
        tool_choice=_tool_choice(request.get("tool_choice")),
        parallel_tool_calls=request.get("parallel_tool_calls"),
        response_format=_response_format(request.get("response_format")),
        reasoning_effort=None if effort is None else inference.ReasoningEffort[effort.upper()],
    )
    messages = request.get("messages") or [{"role": "user", "content": request.get("text", "")}]
    return inference.ChatRequest(request.get("model", "test-model"), [_message(m) for m in messages], params)


def _tool_calls(calls):
    if calls is None:
        return None
    return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]


def _chat_response(response):
    message = response.message
    return {
        "message": {
            "content": message.content,
            "reasoning_content": message.reasoning_content,
            "tool_calls": _tool_calls(message.tool_calls),
        },
        "finish_reason": _case(response.finish_reason),
        "logprobs": _distributions(response.logprobs),
        "usage": _usage(response.usage),
    }


def _completion_stream(request):
    events, text = [], ""
    with inference.CompletionStream(_completion_request(request, request.get("text", ""))) as stream:
        while (event := stream.next()) is not None:
            if isinstance(event, inference.CompletionEvent_Append):
                text += event.value.text
                events.append(
                    {"type": "append", "text": event.value.text, "logprobs": _distributions(event.value.logprobs)}
                )
            elif isinstance(event, inference.CompletionEvent_End):
                events.append({"type": "end", "finish_reason": _case(event.value)})
            else:
                events.append({"type": "usage", **_usage(event.value)})
    return {"text": text, "events": events}


def _chat_stream(request):
    events, content, reasoning, calls = [], "", "", {}
    with inference.ChatStream(_chat_request(request)) as stream:
        while (event := stream.next()) is not None:
            if isinstance(event, inference.ChatEvent_MessageBegin):
                events.append({"type": "message-begin", "role": event.value})
            elif isinstance(event, inference.ChatEvent_Reasoning):
                reasoning += event.value
                events.append({"type": "reasoning", "content": event.value})
            elif isinstance(event, inference.ChatEvent_MessageAppend):
                content += event.value.content
                events.append({"type": "message-append", "content": event.value.content})
            elif isinstance(event, inference.ChatEvent_MessageEnd):
                events.append({"type": "message-end", "finish_reason": _case(event.value)})
            elif isinstance(event, inference.ChatEvent_Usage):
                events.append({"type": "usage", **_usage(event.value)})
            else:
                chunks = []
                for chunk in event.value:
                    chunks.append(
                        {"index": chunk.index, "id": chunk.id, "name": chunk.name, "arguments": chunk.arguments}
                    )
                    call = calls.setdefault(chunk.index, {"id": None, "name": "", "arguments": ""})
                    if chunk.id is not None:
                        call["id"] = chunk.id
                    call["name"] += chunk.name or ""
                    call["arguments"] += chunk.arguments or ""
                events.append({"type": "tool-call", "chunks": chunks})
    return {
        "content": content,
        "reasoning": reasoning,
        "tool_calls": [calls[index] for index in sorted(calls)],
        "events": events,
    }


# -- document index ----------------------------------------------------------------------------


def _document_path(request):
    return document_index.DocumentPath(
        namespace=request.get("namespace", "ns"),
        collection=request.get("collection", "collection"),
        name=request.get("name", request.get("text", "")),
    )


def _path_json(path):
    return {"namespace": path.namespace, "collection": path.collection, "name": path.name}


def _cursor(cursor):
    return {"item": cursor.item, "position": cursor.position}


CONDITIONS = {
    "greater_than": document_index.MetadataFilterCondition_GreaterThan,
    "greater_than_or_equal_to": document_index.MetadataFilterCondition_GreaterThanOrEqualTo,
    "less_than": document_index.MetadataFilterCondition_LessThan,
    "less_than_or_equal_to": document_index.MetadataFilterCondition_LessThanOrEqualTo,
    "after": document_index.MetadataFilterCondition_After,
    "at_or_after": document_index.MetadataFilterCondition_AtOrAfter,
    "before": document_index.MetadataFilterCondition_Before,
    "at_or_before": document_index.MetadataFilterCondition_AtOrBefore,
}
FILTERS = {
    "without": document_index.SearchFilter_Without,
    "with_one_of": document_index.SearchFilter_WithOneOf,
    "with_all": document_index.SearchFilter_WithAll,
}


def _condition(spec):
    if "is_null" in spec:
        return document_index.MetadataFilterCondition_IsNull()
    if "equal_to" in spec:
        value = spec["equal_to"]
        if isinstance(value, bool):
            field_value = document_index.MetadataFieldValue_BooleanType(value)
        elif isinstance(value, int):
            field_value = document_index.MetadataFieldValue_IntegerType(value)
        else:
            field_value = document_index.MetadataFieldValue_StringType(value)
        return document_index.MetadataFilterCondition_EqualTo(field_value)
    for key, make in CONDITIONS.items():
        if key in spec:
            value = spec[key]
            return make(float(value) if "than" in key else value)
    raise Err(Error_InvalidInput(f"no condition in filter {spec!r}"))


def _filters(specs):
    filters = []
    for spec in specs:
        ((kind, conditions),) = spec.items()
        filters.append(
            FILTERS[kind]([document_index.MetadataFilter(c["field"], _condition(c)) for c in conditions])
        )
    return filters


def _search(request):
    index = document_index.IndexPath(
        namespace=request.get("namespace", "ns"),
        collection=request.get("collection", "collection"),
        index=request.get("index", "index"),
    )
    search = document_index.SearchRequest(
        index_path=index,
        query=request.get("text", ""),
        max_results=int(request.get("max_results", 1)),
        min_score=request.get("min_score"),
        filters=_filters(request.get("filters", [])),
    )
    return [
        {
            "document_path": _path_json(r.document_path),
            "content": r.content,
            "score": r.score,
            "start": _cursor(r.start),
            "end": _cursor(r.end),
        }
        for r in document_index.search([search])[0]
    ]


def _modality(modality):
    if isinstance(modality, document_index.Modality_Text):
        return {"type": "text", "text": modality.value}
    return {"type": "image"}


def _document(document):
    return {
        "path": _path_json(document.path),
        "contents": [_modality(m) for m in document.contents],
        "metadata": _json_or_none(document.metadata),
    }


# -- tools ---------------------------------------------------------------------------------------


def _invoke_tool(request):
    arguments = [tool.Argument(name, json.dumps(value).encode()) for name, value in request.get("arguments", {}).items()]
    result = tool.invoke_tool([tool.InvokeRequest(request.get("tool", "add"), arguments)])[0]
    if isinstance(result, Ok):
        return {"ok": True, "contents": [m.value for m in result.value]}
    return {"ok": False, "error": result.value}


def _list_tools():
    return [
        {"name": t.name, "description": t.description, "input_schema": json.loads(t.input_schema)}
        for t in tool.list_tools()
    ]


# -- dispatch ------------------------------------------------------------------------------------


def _chunk_params(request):
    return chunking.ChunkParams(
        model=request.get("model", "test-model"),
        max_tokens=int(request.get("max_tokens", 5)),
        overlap=int(request.get("overlap", 0)),
    )


def _act(request):
    action = request["action"]
    text = request.get("text", "")
    if action == "echo":
        return request.get("payload")
    if action == "internal_error":
        raise Err(Error_Internal(text or "the skill failed on purpose"))
    if action == "invalid_input":
        raise Err(Error_InvalidInput(text or "the input is invalid on purpose"))
    if action == "raise":
        raise RuntimeError(text or "an uncaught exception")
    if action == "chunk":
        return chunking.chunk([chunking.ChunkRequest(text, _chunk_params(request))])[0]
    if action == "chunk_with_offsets":
        character_offsets = bool(request.get("character_offsets", True))
        chunks = chunking.chunk_with_offsets(
            [chunking.ChunkWithOffsetRequest(text, _chunk_params(request), character_offsets)]
        )[0]
        return [
            {"text": c.text, "byte_offset": c.byte_offset, "character_offset": c.character_offset} for c in chunks
        ]
    if action == "search":
        return _search(request)
    if action == "documents":
        return _document(document_index.documents([_document_path(request)])[0])
    if action == "document_metadata":
        return _json_or_none(document_index.document_metadata([_document_path(request)])[0])
    if action == "complete":
        return _completion(inference.complete([_completion_request(request, text)])[0])
    if action == "complete_batch":
        requests = [_completion_request(request, prompt) for prompt in request.get("prompts", [text])]
        return [_completion(c) for c in inference.complete(requests)]
    if action == "completion_stream":
        return _completion_stream(request)
    if action == "chat":
        return _chat_response(inference.chat([_chat_request(request)])[0])
    if action == "chat_stream":
        return _chat_stream(request)
    if action == "select_language":
        languages = list(request.get("languages", ["eng", "deu"]))
        return language.select_language([language.SelectLanguageRequest(text, languages)])[0]
    if action == "invoke_tool":
        return _invoke_tool(request)
    if action == "list_tools":
        return _list_tools()
    raise Err(Error_InvalidInput(f"unknown action {action!r}"))


class SkillHandler(exports.SkillHandler):
    def run(self, input: bytes) -> bytes:
        try:
            request = json.loads(input)
            if not isinstance(request, dict) or not isinstance(request.get("action"), str):
                raise ValueError('expected a JSON object with a string "action"')
        except ValueError as error:
            raise Err(Error_InvalidInput(f"invalid input: {error}"))
        action = request["action"]
        if action == "invalid_output":
            return b"this is not JSON \xff"
        return json.dumps({"action": action, "result": _act(request)}, ensure_ascii=False).encode()

    def metadata(self) -> skill_handler.SkillMetadata:
        return skill_handler.SkillMetadata(
            description=DESCRIPTION,
            input_schema=json.dumps(INPUT_SCHEMA).encode(),
            output_schema=json.dumps(OUTPUT_SCHEMA).encode(),
        )
