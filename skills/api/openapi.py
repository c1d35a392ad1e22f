"""The OpenAPI document of the invocation API, written by hand to match CONTRACTS.md."""

from __future__ import annotations

_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
            "required": ["kind", "message"],
        }
    },
}


CSI_FUNCTIONS = [
    "complete", "completion_stream", "chat", "chat_stream", "chunk", "chunk_with_offsets", "select_language",
    "search", "documents", "document_metadata", "explain", "invoke_tool", "list_tools",
]  # fmt: skip
_RUN_ID = {"name": "run_id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
_NAMESPACE = {"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}
_LEGACY_SHARED = ["chat", "chunk", "complete", "documents", "document_metadata", "search", "select_language"]
LEGACY_CSI_VERSIONS = {
    "0.2": [*_LEGACY_SHARED, "complete_all"],
    "0.3": [*_LEGACY_SHARED, "explain", "chunk_with_offsets"],
}
_SYNC_REPORT = {
    "type": "object",
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


def _errors(*codes: int) -> dict:
    text = {
        400: "Invalid input or skill error",
        401: "Missing or invalid token",
        403: "Not allowed in this namespace",
        404: "Unknown namespace, skill, tag or run",
        413: "Body too large",
        429: "Namespace limit reached",
        500: "The skill trapped or ran out of memory",
        502: "A CSI backend failed",
        503: "Execution capacity exhausted",
        504: "The skill exceeded its time limit",
    }
    return {
        str(c): {"description": text[c], "content": {"application/json": {"schema": _ERROR}}} for c in codes
    }


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


def _csi_shell(summary: str, json_body: dict) -> dict:
    return {
        "post": {
            "summary": summary,
            "parameters": [
                {
                    "name": "function",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": CSI_FUNCTIONS},
                }
            ],
            "requestBody": json_body,
            "responses": {
                "200": {
                    "description": "JSON, or server-sent events for the *_stream functions (a failure "
                    "is an `error` event)"
                },
                **_errors(400, 401, 403, 404, 413, 429, 502, 503),
            },
        }
    }


def openapi_document(server_url: str) -> dict:
    json_body = {"required": True, "content": {"application/json": {"schema": {}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Skill Kernel",
            "version": "0.1.0",
            "description": "Run AI skills (pharia:skill WebAssembly components).",
        },
        "servers": [{"url": server_url}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/v1/skills/{namespace}/{name}/run": {
                "post": {
                    "summary": "Run a skill and wait for its output",
                    "parameters": _skill_params()
                    + [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": json_body,
                    "responses": {
                        "200": {
                            "description": "The skill's JSON output",
                            "content": {"application/json": {"schema": {}}},
                        },
                        "202": {"description": "Still running after the wait limit: the run"},
                        **_errors(400, 401, 403, 404, 413, 500, 502, 503, 504),
                    },
                }
            },
            "/v1/skills/{namespace}/{name}/message-stream": {
                "post": {
                    "summary": "Run a message-stream skill, answered as server-sent events",
                    "parameters": _skill_params(),
                    "requestBody": json_body,
                    "responses": {
                        "200": {
                            "description": "event: message | reasoning | tool | error",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        **_errors(400, 401, 403, 413, 503),
                    },
                }
            },
            "/v1/skills/{namespace}/{name}/metadata": {
                "get": {
                    "summary": "Description, input and output JSON schema and type of a skill",
                    "parameters": _skill_params(),
                    "responses": {"200": {"description": "Metadata"}, **_errors(401, 403, 404)},
                }
            },
            "/v1/skills": {
                "get": {
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
                        "200": {
                            "description": "namespace/name strings",
                            "content": {
                                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
                            },
                        },
                        **_errors(401),
                    },
                }
            },
            "/api/v1/runs/{run_id}": {
                "get": {
                    "summary": "A run: status, output or error, timings",
                    "parameters": [
                        {
                            "name": "run_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {"200": {"description": "The run"}, **_errors(401, 404)},
                }
            },
            "/api/v1/runs": {
                "post": {
                    "summary": "Start a run without waiting (async)",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["namespace", "skill"],
                                    "properties": {
                                        "namespace": {"type": "string"},
                                        "skill": {"type": "string"},
                                        "tag": {"type": "string", "default": "latest"},
                                        "input": {},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "202": {"description": "The queued run: id, url, status"},
                        **_errors(400, 401, 403, 404, 413, 429, 503),
                    },
                }
            },
            "/api/v1/runs/{run_id}/cancel": {
                "post": {
                    "summary": "Cancel a queued or running run",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": {"description": "The cancelled run"},
                        "409": {"description": "The run already ended"},
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/api/v1/runs/{run_id}/stream": {
                "get": {
                    "summary": "Replay the stored message stream of a run as server-sent events",
                    "parameters": [_RUN_ID],
                    "responses": {
                        "200": {
                            "description": "event: message | tool | error",
                            "content": {"text/event-stream": {"schema": {"type": "string"}}},
                        },
                        **_errors(401, 404),
                    },
                }
            },
            "/v1/tools/{namespace}": {
                "get": {
                    "summary": "The tools (native and MCP) skills of a namespace can call, sorted by name",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": {
                            "description": "Tool descriptions",
                            "content": {"application/json": {"schema": {"type": "array", "items": _TOOL}}},
                        },
                        **_errors(401, 404, 502),
                    },
                }
            },
            "/v1/mcp_servers/{namespace}": {
                "get": {
                    "summary": "The URLs of the MCP servers configured for a namespace",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": {
                            "description": "MCP server URLs",
                            "content": {
                                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}}
                            },
                        },
                        **_errors(401, 404),
                    },
                }
            },
            "/v1/namespaces/{namespace}/sync": {
                "post": {
                    "summary": "Sync a GitOps namespace (namespace file, registry, directory) now",
                    "parameters": [_NAMESPACE],
                    "responses": {
                        "200": {
                            "description": "What the sync changed",
                            "content": {"application/json": {"schema": _SYNC_REPORT}},
                        },
                        "409": {"description": "Another process is syncing the namespace"},
                        "502": {
                            "description": "The source failed; the last good state keeps serving",
                            "content": {"application/json": {"schema": _SYNC_REPORT}},
                        },
                        **_errors(401, 403, 404),
                    },
                }
            },
            "/csi/v1/{function}": _csi_shell(
                "The CSI shell (pharia-skill 0.20.0 shapes): one CSI function over HTTP, as the SDK's "
                "DevCsi calls it",
                json_body,
            ),
            "/csi/v2/{function}": _csi_shell(
                "The CSI shell with the pharia:skill@0.4 answers: reasoning, tool calls, no logprobs in "
                "chat stream events",
                json_body,
            ),
            "/csi": {
                "post": {
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
                                        "function": {
                                            "type": "string",
                                            "enum": sorted(
                                                {f for fs in LEGACY_CSI_VERSIONS.values() for f in fs}
                                            ),
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "The function's JSON answer"},
                        "400": {
                            "description": "Bad input, or a version or function this kernel does not serve",
                            "content": {"application/json": {"schema": {"type": "string"}}},
                        },
                        **{
                            str(code): {
                                "description": text,
                                "content": {"application/json": {"schema": {"type": "string"}}},
                            }
                            for code, text in (
                                (401, "Missing or invalid token"),
                                (413, "Body too large"),
                                (502, "A CSI backend failed"),
                                (503, "The function's backend is not configured"),
                            )
                        },
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text/plain; version=0.0.4"}},
                }
            },
            "/health": {
                "get": {"summary": "Liveness", "security": [], "responses": {"200": {"description": "ok"}}}
            },
        },
    }
