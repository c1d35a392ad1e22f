"""Settings of the csi area, read from the environment; imported by kernel_site.settings.

The inference URL, token, timeout, allow-list and model map (``OPENAI_INFERENCE__*``) and the
document index URL and token (``DOCUMENT_INDEX__*``) are read in ``kernel_site.settings``.
"""

from kernel_site.env import envbool, envfloat, envint, envstr

# Seconds to wait for a TCP connection to the inference backend (default 5).
OPENAI_INFERENCE_CONNECT_TIMEOUT = envfloat("OPENAI_INFERENCE__CONNECT_TIMEOUT", 5.0)
# Requests of one batched complete/chat call sent to the backend at once (default 8).
OPENAI_INFERENCE_MAX_CONCURRENCY = envint("OPENAI_INFERENCE__MAX_CONCURRENCY", 8)
# Send vLLM's top_k and skip_special_tokens: "true", "false", or empty for auto (off for api.openai.com).
OPENAI_INFERENCE_VLLM_EXTENSIONS = (
    envbool("OPENAI_INFERENCE__VLLM_EXTENSIONS") if envstr("OPENAI_INFERENCE__VLLM_EXTENSIONS") else None
)
# Seconds to wait for the document index per request (default 30).
DOCUMENT_INDEX_TIMEOUT = envfloat("DOCUMENT_INDEX__TIMEOUT", 30.0)
# Seconds a call to an MCP server (listing or invoking tools) may take (default 30).
MCP_TIMEOUT = envfloat("MCP_TIMEOUT", 30.0)
# Seconds an MCP server's tool listing is reused before it is listed again (default 30).
MCP_TOOLS_CACHE_TTL = envfloat("MCP_TOOLS_CACHE_TTL", 30.0)
# Seconds a failed MCP listing is remembered, so a down server is not retried on every call (default 5).
MCP_FAILURE_TTL = envfloat("MCP_FAILURE_TTL", 5.0)
# Largest JSON body the CSI shell accepts, in bytes (default 2 MiB; DATA_UPLOAD_MAX_MEMORY_SIZE also caps it).
CSI_SHELL_MAX_BODY_BYTES = envint("CSI_SHELL_MAX_BODY_BYTES", 2 * 1024 * 1024)
# Most requests one batched CSI shell call may carry (default 100).
CSI_SHELL_MAX_BATCH = envint("CSI_SHELL_MAX_BATCH", 100)
