"""Settings of the documents area (the built-in document index), read from the environment.

The external DocumentIndex (``DOCUMENT_INDEX__URL``, ``__TOKEN``) is read in ``kernel_site.settings``;
when set it serves every namespace that has no document index of its own.
"""

from kernel_site.env import envbool, envfloat, envint, envstr

# Serve collections from the kernel's own database when no external DocumentIndex applies. Default on.
DOCUMENTS_BUILTIN = envbool("DOCUMENTS__BUILTIN", True)
# The index a new collection gets, named like the Pharia DocumentIndex's indexes. Default "default".
DOCUMENTS_DEFAULT_INDEX = envstr("DOCUMENTS__DEFAULT_INDEX", "default")
# Tokens per chunk and overlap of a new index (counted with the kernel's chunking). Defaults 256, 0.
DOCUMENTS_CHUNK_TOKENS = envint("DOCUMENTS__CHUNK_TOKENS", 256)
DOCUMENTS_CHUNK_OVERLAP = envint("DOCUMENTS__CHUNK_OVERLAP", 0)
# Largest document body the REST API accepts, in bytes. Default 10 MiB.
DOCUMENTS_MAX_DOCUMENT_BYTES = envint("DOCUMENTS__MAX_DOCUMENT_BYTES", 10 * 1024 * 1024)
# Text search configuration of PostgreSQL full-text search (distributed mode). Default "english".
DOCUMENTS_PG_TEXT_SEARCH_CONFIG = envstr("DOCUMENTS__PG_TEXT_SEARCH_CONFIG", "english")

# An OpenAI-compatible embeddings endpoint (POST {URL}/embeddings) turns on semantic and hybrid
# search: base URL ending in /v1, e.g. http://127.0.0.1:8080/v1. Empty: full-text search only.
EMBEDDINGS_URL = envstr("EMBEDDINGS__URL", "")
EMBEDDINGS_TOKEN = envstr("EMBEDDINGS__TOKEN", "")
# The embedding model to ask for, e.g. text-embedding-3-small. Required with EMBEDDINGS__URL.
EMBEDDINGS_MODEL = envstr("EMBEDDINGS__MODEL", "")
# Ask the model for this many dimensions (OpenAI's text-embedding-3 models can shorten). Default 0: its own.
EMBEDDINGS_DIMENSIONS = envint("EMBEDDINGS__DIMENSIONS", 0)
# Texts sent in one embeddings request, and seconds one request may take. Defaults 64, 30.
EMBEDDINGS_BATCH = envint("EMBEDDINGS__BATCH", 64)
EMBEDDINGS_TIMEOUT = envfloat("EMBEDDINGS__TIMEOUT", 30.0)
