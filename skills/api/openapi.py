"""The OpenAPI document of the kernel's HTTP API, written by hand to match CONTRACTS.md and the code.

Kept true by ``tests/kernel/test_openapi_schemathesis.py``, which runs Schemathesis over it against a
live kernel: every status and body the kernel answers must be documented here, and every request
documented as valid must be served. Event streams follow the convention of OpenAPI 3.1 tools
(formalised as ``itemSchema`` in 3.2): the ``text/event-stream`` schema describes one event.
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "kind": {"type": "string"},
                "message": {"type": "string"},
                "run_id": {"type": "string", "format": "uuid", "description": "The failed run, if one ran"},
            },
            "required": ["kind", "message"],
        }
    },
}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}
_ANY_JSON: dict = {}
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}

CSI_FUNCTIONS = [
    "complete", "completion_stream", "chat", "chat_stream", "chunk", "chunk_with_offsets", "select_language",
    "search", "documents", "document_metadata", "explain", "invoke_tool", "list_tools",
]  # fmt: skip
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "The same key from the same caller answers the run it first started, without a new one",
}
_LEGACY_SHARED = ["chat", "chunk", "complete", "documents", "document_metadata", "search", "select_language"]
LEGACY_CSI_VERSIONS = {
    "0.2": [*_LEGACY_SHARED, "complete_all"],
    "0.3": [*_LEGACY_SHARED, "explain", "chunk_with_offsets"],
}
_SYNC_REPORT = {
    "type": "object",
    "required": ["namespace", "changes", "errors", "skipped"],
    "properties": {
        "namespace": {"type": "string"},
        "changes": {"type": "array", "items": {"type": "string"}},
        "errors": {"type": "array", "items": {"type": "string"}},
        "skipped": {"type": "string"},
    },
}
_TOOL = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "input_schema": {"type": "object", "description": "JSON Schema of the tool's arguments"},
    },
    "required": ["name", "description", "input_schema"],
}
_RUN = {
    "type": "object",
    "required": ["id", "url", "skill", "version", "tag", "mode", "status", "output", "error", "queued_at"],
    "properties": {
        "id": {"type": "string", "format": "uuid"},
        "url": {"type": "string", "description": "Where to read the run"},
        "skill": {"type": "string", "description": "namespace/name"},
        "version": {"type": "string", "description": "sha256 of the component"},
        "tag": {"type": "string"},
        "mode": {"type": "string", "enum": ["sync", "async", "stream"]},
        "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]},
        "output": {"description": "The skill's JSON output once the run succeeded, else null"},
        "error": {
            "type": ["object", "null"],
            "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
            "required": ["kind", "message"],
        },
        "queued_at": {"type": "string", "format": "date-time"},
        "started_at": _NULLABLE_TIME,
        "finished_at": _NULLABLE_TIME,
        "duration_ms": {"type": ["number", "null"]},
        "trace_id": {"type": "string"},
    },
}
_METADATA = {
    "type": "object",
    "required": ["description", "input_schema", "output_schema", "type", "version"],
    "properties": {
        "description": {"type": "string"},
        "input_schema": {"type": ["object", "boolean", "null"], "description": "JSON Schema of the input"},
        "output_schema": {"type": ["object", "boolean", "null"], "description": "JSON Schema of the output"},
        "type": {"type": "string", "enum": ["programmable", "chat"]},
        "version": {"type": "string", "description": "sha256 of the component"},
    },
}
# One server-sent event: ``event:`` names it, ``data:`` is one line of compact JSON.
_MESSAGE_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string", "enum": ["message", "reasoning", "tool", "error"]},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": 'message: {"type": "begin"} | {"type": "append", "text"} | {"type": "end", '
            '"payload"}; reasoning: {"type": "reasoning", "text"}; tool: {"type": "begin" | "end", "name"} '
            'or {"type": "error", "name", "message"}; error: {"message"}, the last event',
        },
    },
}
_CSI_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string", "contentMediaType": "application/json"},
    },
}
_ERROR_TEXT = {
    400: "Invalid input or skill error",
    401: "Missing or invalid token",
    403: "Not allowed in this namespace",
    404: "Unknown namespace, skill, tag or run",
    409: "The run was cancelled",
    413: "Body too large",
    415: "The body is not application/json",
    429: "Namespace limit reached",
    500: "The skill trapped or ran out of memory",
    501: "The backend cannot do this function",
    502: "A CSI backend failed",
    503: "Execution capacity exhausted",
    504: "The skill exceeded its time limit",
}


def _errors(*codes: int, texts: dict[int, str] | None = None) -> dict:
    """JSON error answers; ``texts`` overrides the description of a status."""
    return {
        str(c): {
            "description": (texts or {}).get(c, _ERROR_TEXT[c]),
            "content": {"application/json": {"schema": _ERROR}},
        }
        for c in codes
    }


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _skill_params() -> list[dict]:
    return [
        {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "tag",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "default": "latest"},
            "description": "Tag (or digest prefix of at least 12 characters) of the version to use",
        },
    ]


_SKILL_INPUT = {
    "required": False,
    "description": "The skill's JSON input (an empty body is null), at most SKILL_MAX_INPUT_BYTES and "
    "SKILL_MAX_INPUT_DEPTH levels deep; NaN and Infinity are not JSON",
    "content": {"application/json": {"schema": _ANY_JSON}},
}
_RUN_LINKS = {
    "GetRun": {"operationId": "getRun", "parameters": {"run_id": "$response.body#/id"}},
    "CancelRun": {"operationId": "cancelRun", "parameters": {"run_id": "$response.body#/id"}},
    "StreamRun": {"operationId": "streamRun", "parameters": {"run_id": "$response.body#/id"}},
}


# -- the built-in document index (skills/documents/api.py), in the Pharia DocumentIndex's shapes --
_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"
_COLLECTION_PARAMS = [
    _NAMESPACE,
    {
        "name": "collection",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": _NAME_PATTERN},
    },
]
_DOCUMENT_NAME = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "The document name, URL-encoded (it may contain '/')",
    "schema": {"type": "string", "minLength": 1, "maxLength": 500, "pattern": "\\S"},
}
_INDEX_NAME = {
    "name": "index",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": _NAME_PATTERN},
}
_COLLECTION = {
    "type": "object",
    "required": ["namespace", "collection"],
    "properties": {"namespace": {"type": "string"}, "collection": {"type": "string"}},
}
_DOCUMENT_PATH = {
    "type": "object",
    "required": ["namespace", "collection", "name"],
    "properties": {
        "namespace": {"type": "string"},
        "collection": {"type": "string"},
        "name": {"type": "string"},
    },
}
_MODALITY = {
    "oneOf": [
        {
            "type": "object",
            "required": ["modality", "text"],
            "properties": {"modality": {"const": "text"}, "text": {"type": "string"}},
        },
        {
            "type": "object",
            "required": ["modality", "bytes"],
            "properties": {
                "modality": {"const": "image"},
                "bytes": {"type": "string", "description": "base64"},
            },
        },
    ]
}
_DOCUMENT_SUMMARY_PROPERTIES = {
    "path": _DOCUMENT_PATH,
    "version": {"type": "integer", "description": "How often the document was put"},
    "created_timestamp": {"type": "string", "format": "date-time"},
    "updated_timestamp": {"type": "string", "format": "date-time"},
}
_DOCUMENT_SUMMARY = {
    "type": "object",
    "required": list(_DOCUMENT_SUMMARY_PROPERTIES),
    "properties": _DOCUMENT_SUMMARY_PROPERTIES,
}
_DOCUMENT = {
    "type": "object",
    "required": [*_DOCUMENT_SUMMARY_PROPERTIES, "contents", "metadata"],
    "properties": {
        **_DOCUMENT_SUMMARY_PROPERTIES,
        "contents": {"type": "array", "items": _MODALITY},
        "metadata": {"description": "Any JSON, null when none"},
    },
}
_INDEX = {
    "type": "object",
    "required": ["name", "kind", "chunk_size", "chunk_overlap", "embedding_model", "dimensions"],
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["fulltext", "semantic", "hybrid"]},
        "chunk_size": {"type": "integer", "description": "Most tokens in a chunk"},
        "chunk_overlap": {"type": "integer"},
        "embedding_model": _NULLABLE_STRING,
        "dimensions": {"type": ["integer", "null"]},
    },
}
_TEXT_ITEM = {
    "type": "object",
    "required": ["modality", "text"],
    "properties": {"modality": {"const": "text"}, "text": {"type": "string"}},
}
_CONDITIONS = {
    "type": "array",
    "items": {
        "oneOf": [
            {
                "type": "object",
                "required": ["modality"],
                "properties": {"modality": {"type": "string"}},
                "additionalProperties": False,
            },
            {
                "type": "object",
                "required": ["metadata"],
                "additionalProperties": False,
                "properties": {
                    "metadata": {
                        "type": "object",
                        "required": ["field"],
                        "minProperties": 2,
                        "maxProperties": 2,
                        "additionalProperties": False,
                        "properties": {
                            "field": {
                                "type": "string",
                                "description": "A metadata key, dotted for nested ones",
                            },
                            **{
                                op: {}
                                for op in (
                                    "equal_to",
                                    "greater_than",
                                    "greater_than_or_equal_to",
                                    "less_than",
                                    "less_than_or_equal_to",
                                    "after",
                                    "at_or_after",
                                    "before",
                                    "at_or_before",
                                    "is_null",
                                )
                            },  # fmt: skip
                        },
                    }
                },
            },
        ]
    },
}
_SEARCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["query"],
                "properties": {
                    "query": {
                        "oneOf": [{"type": "array", "minItems": 1, "items": _TEXT_ITEM}, {"type": "string"}]
                    },
                    "max_results": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10},
                    "min_score": {"type": ["number", "null"]},
                    "filters": {
                        "type": ["array", "null"],
                        "description": "All hold: with (every condition), without (none), with_one_of (any)",
                        "items": {
                            "type": "object",
                            "minProperties": 1,
                            "maxProperties": 1,
                            "additionalProperties": False,
                            "properties": {
                                "with": _CONDITIONS,
                                "without": _CONDITIONS,
                                "with_one_of": _CONDITIONS,
                            },
                        },
                    },
                },
            }
        }
    },
}
_SEARCH_RESULT = {
    "type": "object",
    "required": ["document_path", "section", "score", "start", "end"],
    "properties": {
        "document_path": _DOCUMENT_PATH,
        "section": {"type": "array", "items": _TEXT_ITEM},
        "score": {"type": "number"},
        "start": {"type": "object", "required": ["item", "position"]},
        "end": {"type": "object", "required": ["item", "position"], "description": "Inclusive"},
    },
}


def _document_paths() -> dict:
    collection = "/v1/collections/{namespace}/{collection}"
    collections = {"type": "array", "items": _COLLECTION}
    return {
        "/v1/collections": {
            "get": {
                "operationId": "listCollections",
                "summary": "Every document collection you may view",
                "responses": {"200": _json("Collections", collections), **_errors(401)},
            }
        },
        "/v1/collections/{namespace}": {
            "get": {
                "operationId": "listNamespaceCollections",
                "summary": "The document collections of a namespace",
                "parameters": [_NAMESPACE],
                "responses": {"200": _json("Collections", collections), **_errors(401, 404)},
            }
        },
        collection: {
            "parameters": _COLLECTION_PARAMS,
            "put": {
                "operationId": "putCollection",
                "summary": "Create a collection (with its default index); deploy role",
                "responses": {
                    "200": _json("It existed", _COLLECTION),
                    "201": _json("Created", _COLLECTION),
                    **_errors(400, 401, 403, 404),
                },
            },
            "get": {
                "operationId": "getCollection",
                "summary": "A collection",
                "responses": {"200": _json("The collection", _COLLECTION), **_errors(401, 404)},
            },
            "delete": {
                "operationId": "deleteCollection",
                "summary": "Delete a collection with its documents and indexes; deploy role",
                "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
            },
        },
        f"{collection}/docs": {
            "get": {
                "operationId": "listDocuments",
                "summary": "The documents of a collection, by name",
                "parameters": _COLLECTION_PARAMS,
                "responses": {
                    "200": _json("Documents", {"type": "array", "items": _DOCUMENT_SUMMARY}),
                    **_errors(401, 404),
                },
            }
        },
        f"{collection}/docs/{{name}}": {
            "parameters": [*_COLLECTION_PARAMS, _DOCUMENT_NAME],
            "put": {
                "operationId": "putDocument",
                "summary": "Create or replace a document (the collection is created if missing); deploy role",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["contents"],
                                "properties": {
                                    "contents": {"type": "array", "minItems": 1, "items": _MODALITY},
                                    "metadata": {"description": "Any JSON; filters match on its fields"},
                                    "schema_version": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json("Replaced", _DOCUMENT),
                    "201": _json("Created", _DOCUMENT),
                    **_errors(400, 401, 403, 404, 413, 502),
                },
            },
            "get": {
                "operationId": "getDocument",
                "summary": "A document: contents and metadata",
                "responses": {"200": _json("The document", _DOCUMENT), **_errors(401, 404)},
            },
            "delete": {
                "operationId": "deleteDocument",
                "summary": "Delete a document and its chunks; deploy role",
                "responses": {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
            },
        },
        f"{collection}/indexes": {
            "get": {
                "operationId": "listIndexes",
                "summary": "The indexes of a collection",
                "parameters": _COLLECTION_PARAMS,
                "responses": {
                    "200": _json("Indexes", {"type": "array", "items": _INDEX}),
                    **_errors(401, 404),
                },
            }
        },
        f"{collection}/indexes/{{index}}": {
            "put": {
                "operationId": "putIndex",
                "summary": "Create or change an index; its documents are chunked (and embedded) again",
                "parameters": [*_COLLECTION_PARAMS, _INDEX_NAME],
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "kind": {"type": "string", "enum": ["fulltext", "semantic", "hybrid"]},
                                    "chunk_size": {
                                        "type": ["integer", "null"],
                                        "minimum": 1,
                                        "maximum": 8192,
                                    },
                                    "chunk_overlap": {
                                        "type": ["integer", "null"],
                                        "minimum": 0,
                                        "maximum": 8192,
                                    },
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _json("The index", _INDEX), **_errors(400, 401, 403, 404, 502)},
            }
        },
        f"{collection}/indexes/{{index}}/search": {
            "post": {
                "operationId": "searchIndex",
                "summary": "The best chunks for a query, best first",
                "parameters": [*_COLLECTION_PARAMS, _INDEX_NAME],
                "requestBody": _SEARCH_BODY,
                "responses": {
                    "200": _json("Results", {"type": "array", "items": _SEARCH_RESULT}),
                    **_errors(400, 401, 404, 502),
                },
            }
        },
    }


_CSI_ERRORS = (400, 401, 403, 404, 413, 429, 501, 502, 503)


def _csi_shell(operation_id: str, summary: str) -> dict:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": [
                {
                    "name": "function",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": CSI_FUNCTIONS},
                }
            ],
            "requestBody": {
                "required": True,
                "description": "The function's request as the SDK's DevCsi sends it: a list of requests, "
                "or one object for the *_stream functions, invoke_tool and list_tools",
                "content": {"application/json": {"schema": {"type": ["array", "object"]}}},
            },
            "responses": {
                "200": {
                    "description": "JSON, or server-sent events for the *_stream functions (a failure "
                    "is an `error` event)",
                    "content": {
                        "application/json": {"schema": _ANY_JSON},
                        "text/event-stream": {"schema": _CSI_EVENT},
                    },
                },
                **_errors(*_CSI_ERRORS, texts={503: "The function's backend is not configured"}),
            },
        }
    }


def _legacy_csi() -> dict:
    text_error = {"application/json": {"schema": {"type": "string"}}}
    statuses = {
        400: "Bad input, or a version or function this kernel does not serve",
        401: "Missing or invalid token",
        403: "The caller may invoke skills in no namespace",
        405: "Not POST",
        413: "Body too large",
        429: "The backend rate limits",
        501: "The backend cannot do this function",
        502: "A CSI backend failed",
        503: "The function's backend is not configured",
    }
    functions = sorted({f for fs in LEGACY_CSI_VERSIONS.values() for f in fs})
    return {
        "post": {
            "operationId": "legacyCsi",
            "summary": "The legacy CSI shell: the body names version (0.2, 0.3) and function",
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["version", "function"],
                            "properties": {
                                "version": {"type": "string", "enum": list(LEGACY_CSI_VERSIONS)},
                                "function": {"type": "string", "enum": functions},
                            },
                        }
                    }
                },
            },
            "responses": {
                "200": _json("The function's JSON answer", _ANY_JSON),
                **{
                    str(code): {"description": text, "content": text_error} for code, text in statuses.items()
                },
            },
        }
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skill Kernel",
            "version": "0.1.0",
            "description": "Run AI skills (pharia:skill WebAssembly components). Every error is JSON, "
            '{"error": {"kind", "message"}} (the legacy POST /csi: a JSON string).',
        },
        "servers": [{"url": server_url}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/skills/{namespace}/{name}/run": {
                "post": {
                    "operationId": "runSkill",
                    "summary": "Run a skill and wait for its output",
                    "parameters": [*_skill_params(), _IDEMPOTENCY_KEY],
                    "requestBody": _SKILL_INPUT,
                    "responses": {
                        "200": _json("The skill's JSON output", _ANY_JSON),
                        "202": {
                            **_json("Still running after SKILL_SYNC_WAIT_SECONDS: the run", _RUN),
                            "links": _RUN_LINKS,
                        },
                        **_errors(400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504),
                    },
                }
            },
            "/v1/skills/{namespace}/{name}/message-stream": {
                "post": {
                    "operationId": "streamSkill",
                    "summary": "Run a message-stream skill, answered as server-sent events",
                    "description": "Bad input, a namespace the caller may not invoke in and a skill that is "
                    "not a message-stream skill are answered before the stream starts; a skill that does not "
                    "exist, or fails, is an `error` event that ends the stream.",
                    "parameters": _skill_params(),
                    "requestBody": _SKILL_INPUT,
                    "responses": {
                        "200": {
                            "description": "event: message | reasoning | tool | error",
                            "content": {"text/event-stream": {"schema": _MESSAGE_EVENT}},
                        },
                        **_errors(
                            400,
                            401,
                            403,
                            404,
                            413,
                            429,
                            503,
                            texts={400: "Invalid input, or not a stream skill"},
                        ),
                    },
                }
            },
            "/v1/skills/{namespace}/{name}/metadata": {
                "get": {
                    "operationId": "skillMetadata",
                    "summary": "Description, input and output JSON schema and type of a skill",
                    "parameters": _skill_params(),
                    "responses": {"200": _json("Metadata", _METADATA), **_errors(401, 404)},
                }
            },
            "/v1/skills": {
                "get": {
                    "operationId": "listSkills",
                    "summary": "List the skills you may see",
                    "parameters": [
                        {
                            "name": "type",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "enum": ["programmable", "chat"]},
                        }
                    ],
                    "responses": {
                        "200": _json(
                            "namespace/name strings", {"type": "array", "items": {"type": "string"}}
                        ),
                        **_errors(400, 401, texts={400: "Unknown type"}),
                    },
                }
            },
            "/api/v1/runs/{run_id}": {
                "get": {
                    "operationId": "getRun",
                    "summary": "A run: status, output or error, timings",
                    "parameters": [_RUN_ID],
                    "responses": {"200": _json("The run", _RUN), **_errors(401, 404)},
                }
            },
            "/api/v1/runs": {
                "post": {
                    "operationId": "submitRun",
                    "summary": "Start a run without waiting (async)",
                    "parameters": [_IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["namespace", "skill"],
                                    "properties": {
                                        "namespace": {"type": "string", "minLength": 1, "maxLength": 63},
                                        "skill": {"type": "string", "minLength": 1, "maxLength": 63},
                                        "tag": {
                                            "type": "string",
                                            "minLength": 1,
                                            "maxLength": 63,
                                            "default": "latest",
                                        },
                                        "input": {"description": "The skill's JSON input (default null)"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": {**_json("The queued run", _RUN), "links": _RUN_LINKS},
                        **_errors(400, 401, 403, 404, 413, 415, 429, 503),
                    },
                }
            },
            "/api/v1/runs/{run_id}/cancel": {
                "post": {
                    "operationId": "cancelRun",
                    "summary": "Cancel a queued or running run",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": _json("The cancelled run", _RUN),
                        **_errors(401, 403, 404, 409, texts={409: "The run already ended"}),
                    },
                }
            },
            "/api/v1/runs/{run_id}/stream": {
                "get": {
                    "operationId": "streamRun",
                    "summary": "Replay the stored message stream of a run as server-sent events",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": {
                            "description": "event: message | reasoning | tool | error",
                            "content": {"text/event-stream": {"schema": _MESSAGE_EVENT}},
                        },
                        **_errors(401, 404),
                    },
                }
            },
            "/v1/tools/{namespace}": {
                "get": {
                    "operationId": "listTools",
                    "summary": "The tools (native and MCP) skills of a namespace can call, sorted by name",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": _json("Tool descriptions", {"type": "array", "items": _TOOL}),
                        **_errors(401, 404, 502),
                    },
                }
            },
            "/v1/mcp_servers/{namespace}": {
                "get": {
                    "operationId": "listMcpServers",
                    "summary": "The URLs of the MCP servers configured for a namespace",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": _json("MCP server URLs", {"type": "array", "items": {"type": "string"}}),
                        **_errors(401, 404),
                    },
                }
            },
            "/v1/namespaces/{namespace}/sync": {
                "post": {
                    "operationId": "syncNamespace",
                    "summary": "Sync a GitOps namespace (namespace file, registry, directory) now",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": _json("What the sync changed", _SYNC_REPORT),
                        "409": _json("Another process is syncing the namespace", _SYNC_REPORT),
                        "502": _json("The source failed; the last good state keeps serving", _SYNC_REPORT),
                        **_errors(
                            401, 403, 404, texts={404: "Unknown namespace, or one without an enabled source"}
                        ),
                    },
                }
            },
            **_document_paths(),
            "/csi/v1/{function}": _csi_shell(
                "csiV1",
                "The CSI shell (pharia-skill 0.20.0 shapes): one CSI function over HTTP, as the SDK's "
                "DevCsi calls it",
            ),
            "/csi/v2/{function}": _csi_shell(
                "csiV2",
                "The CSI shell with the pharia:skill@0.4 answers: reasoning, tool calls, no logprobs in "
                "chat stream events",
            ),
            "/csi": _legacy_csi(),
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus metrics (METRICS_TOKEN, or a staff user's token)",
                    "responses": {
                        "200": {"description": "The Prometheus text format", "content": _TEXT},
                        "401": {"description": "Missing or invalid token", "content": _TEXT},
                        "403": {"description": "Not a staff user's token", "content": _TEXT},
                    },
                }
            },
            "/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "security": [],
                    "responses": {"200": {"description": "ok", "content": _TEXT}},
                }
            },
        },
    }
