# world: skill
"""A raw componentize-py guest of PhariaEngine's ``pharia:skill@0.2`` world (standard library only).

The JSON input ``{"action": ..., ...}`` selects the behaviour; the output is
``{"action": <action>, "result": <result>}``. Enum values are the WIT case names
(``"stop"``, ``"length"``, ``"content-filter"``; ``"eng"``, ``"deu"``).
"""

import json

from wit_world import exports
from wit_world.exports.skill_handler import Error_Internal, Error_InvalidInput
from wit_world.imports import csi
from wit_world.types import Err


def _case(value):
    return value.name.lower().replace("_", "-")


def _json_or_none(raw):
    return None if raw is None else json.loads(raw)


def _completion_params(request):
    return csi.CompletionParams(
        max_tokens=request.get("max_tokens"),
        temperature=request.get("temperature"),
        top_k=request.get("top_k"),
        top_p=request.get("top_p"),
        stop=list(request.get("stop", [])),
    )


def _completion(completion):
    return {"text": completion.text, "finish_reason": _case(completion.finish_reason)}


def _document_path(request, name=None):
    return csi.DocumentPath(
        namespace=request.get("namespace", "ns"),
        collection=request.get("collection", "collection"),
        name=request.get("name", request.get("text", "")) if name is None else name,
    )


def _path_json(path):
    return {"namespace": path.namespace, "collection": path.collection, "name": path.name}


def _modality(modality):
    if isinstance(modality, csi.Modality_Text):
        return {"type": "text", "text": modality.value}
    return {"type": "image"}


LANGUAGES = {"eng": csi.Language.ENG, "deu": csi.Language.DEU}


def _act(request):
    action = request["action"]
    text = request.get("text", "")
    model = request.get("model", "test-model")
    if action == "echo":
        return request.get("payload")
    if action == "internal_error":
        raise Err(Error_Internal(text or "the skill failed on purpose"))
    if action == "invalid_input":
        raise Err(Error_InvalidInput(text or "the input is invalid on purpose"))
    if action == "raise":
        raise RuntimeError(text or "an uncaught exception")
    if action == "complete":
        return _completion(csi.complete(model, text, _completion_params(request)))
    if action == "complete_return_special_tokens":
        return _completion(csi.complete_return_special_tokens(model, text, _completion_params(request)))
    if action == "complete_all":
        prompts = request.get("prompts", [text])
        requests = [csi.CompletionRequest(model, prompt, _completion_params(request)) for prompt in prompts]
        return [_completion(completion) for completion in csi.complete_all(requests)]
    if action == "chat":
        messages = request.get("messages") or [{"role": "user", "content": text}]
        wit_messages = [csi.Message(csi.Role[m["role"].upper()], m["content"]) for m in messages]
        params = csi.ChatParams(
            max_tokens=request.get("max_tokens"),
            temperature=request.get("temperature"),
            top_p=request.get("top_p"),
        )
        response = csi.chat(model, wit_messages, params)
        return {
            "role": _case(response.message.role),
            "content": response.message.content,
            "finish_reason": _case(response.finish_reason),
        }
    if action == "chunk":
        params = csi.ChunkParams(model=model, max_tokens=int(request.get("max_tokens", 5)))
        return csi.chunk(text, params)
    if action == "select_language":
        languages = [LANGUAGES[code] for code in request.get("languages", ["eng", "deu"])]
        language = csi.select_language(text, languages)
        return None if language is None else _case(language)
    if action == "search":
        index = csi.IndexPath(
            namespace=request.get("namespace", "ns"),
            collection=request.get("collection", "collection"),
            index=request.get("index", "index"),
        )
        results = csi.search(index, text, int(request.get("max_results", 1)), request.get("min_score"))
        return [
            {"document_path": _path_json(r.document_path), "content": r.content, "score": r.score}
            for r in results
        ]
    if action == "document_metadata":
        return _json_or_none(csi.document_metadata(_document_path(request)))
    if action == "documents":
        names = request.get("names", [request.get("name", text)])
        documents = csi.documents([_document_path(request, name) for name in names])
        return [
            {
                "path": _path_json(document.path),
                "contents": [_modality(modality) for modality in document.contents],
                "metadata": _json_or_none(document.metadata),
            }
            for document in documents
        ]
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
