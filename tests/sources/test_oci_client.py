"""skills.sources.oci against a real registry, with skills pushed by the official ``pharia-skill publish``.

The registry is distribution 2.8 with TLS and htpasswd (``oci_registry``, see
``tests/support/oci_registry.py``). Token (Bearer) auth and corrupt content are exercised against a
small in-process fake, since distribution needs a separate token server for the former and never
serves the latter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from skills.sources.oci import (
    OCI_MANIFEST,
    WASM_CONFIG,
    WASM_LAYER,
    ManifestNotFound,
    Pulled,
    RegistryClient,
    RegistryError,
    RegistryUnauthorized,
)

BASE = "team/pharia-skills"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def kitchen_sink(skill_wasm) -> Path:
    return skill_wasm["kitchen_sink"]


@pytest.fixture(scope="module")
def published(oci_registry, kitchen_sink) -> str:
    """``kitchen-sink:v1`` published once with the official CLI; returns its repository."""
    started = time.perf_counter()
    oci_registry.publish(kitchen_sink, repository=BASE, name="kitchen-sink", tag="v1")
    print(f"publish kitchen-sink:v1 ({kitchen_sink.stat().st_size} B): {time.perf_counter() - started:.2f}s")
    return RegistryClient.repository(BASE, "kitchen-sink")


def _client(registry, **kwargs) -> RegistryClient:
    options = {"user": registry.user, "password": registry.password, "ca_bundle": str(registry.ca_path)}
    return RegistryClient(registry.host, **{**options, **kwargs})


# -- naming -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, skill, expected",
    [
        ("team/pharia-skills", "haiku", "team/pharia-skills/haiku"),
        ("/team/pharia-skills/", "haiku", "team/pharia-skills/haiku"),
        ("", "haiku", "haiku"),
        ("/", "haiku", "haiku"),
    ],
)
def test_repository_naming_follows_pharia_engine(base, skill, expected):
    assert RegistryClient.repository(base, skill) == expected
    assert RegistryClient("localhost:5000").repository(base, skill) == expected


# -- the real registry ------------------------------------------------------------------------------


def test_head_and_pull_what_the_official_cli_published(oci_registry, published, kitchen_sink):
    client = _client(oci_registry)
    started = time.perf_counter()
    digest = client.head(published, "v1")
    head_s = time.perf_counter() - started
    started = time.perf_counter()
    pulled = client.pull(published, "v1")
    pull_s = time.perf_counter() - started
    print(f"head {head_s * 1000:.1f} ms, pull {pull_s * 1000:.0f} ms")

    wasm = kitchen_sink.read_bytes()
    assert isinstance(pulled, Pulled)
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest)
    assert pulled.manifest_digest == digest
    assert pulled.wasm == wasm
    assert pulled.layer_digest == _sha256(wasm)


def test_the_cli_pushes_an_oci_manifest_with_one_wasm_layer(oci_registry, published, kitchen_sink):
    manifest, digest = _client(oci_registry)._manifest(published, "v1")
    assert digest == _client(oci_registry).head(published, "v1")
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == WASM_CONFIG
    assert [layer["mediaType"] for layer in manifest["layers"]] == [WASM_LAYER]
    assert manifest["layers"][0]["size"] == kitchen_sink.stat().st_size


def test_republishing_the_same_bytes_changes_the_manifest_digest_not_the_layer(oci_registry, kitchen_sink):
    client = _client(oci_registry)
    repository = client.repository(BASE, "republished")
    oci_registry.publish(kitchen_sink, repository=BASE, name="republished", tag="latest")
    first = client.pull(repository, "latest")
    time.sleep(0.01)  # the config's timestamp has sub-second precision
    oci_registry.publish(kitchen_sink, repository=BASE, name="republished", tag="latest")
    second = client.pull(repository, "latest")

    assert second.manifest_digest != first.manifest_digest
    assert client.head(repository, "latest") == second.manifest_digest
    assert second.layer_digest == first.layer_digest == _sha256(kitchen_sink.read_bytes())
    assert second.wasm == first.wasm


def test_the_0_20_sdk_publishes_the_same_layout(oci_registry, kitchen_sink):
    oci_registry.publish(kitchen_sink, repository=BASE, name="sdk-020", tag="v1", toolchain="sdk-0.20.0")
    pulled = _client(oci_registry).pull(f"{BASE}/sdk-020", "v1")
    assert pulled.layer_digest == _sha256(kitchen_sink.read_bytes())


def test_publish_with_a_wrong_password_reports_the_cli_error(oci_registry, kitchen_sink):
    with pytest.raises(RuntimeError, match="pharia-skill publish"):
        oci_registry.publish(kitchen_sink, repository=BASE, name="refused", tag="v1", password="wrong")


@pytest.mark.parametrize("operation", ["head", "pull"])
def test_wrong_password_is_unauthorized(oci_registry, published, operation):
    client = _client(oci_registry, password="not-the-password")
    with pytest.raises(RegistryUnauthorized, match=oci_registry.host) as raised:
        getattr(client, operation)(published, "v1")
    assert oci_registry.user in str(raised.value)


def test_no_credentials_is_unauthorized(oci_registry, published):
    with pytest.raises(RegistryUnauthorized, match="no credentials"):
        RegistryClient(oci_registry.host, ca_bundle=str(oci_registry.ca_path)).head(published, "v1")


@pytest.mark.parametrize("operation", ["head", "pull"])
def test_unknown_tag_is_manifest_not_found(oci_registry, published, operation):
    with pytest.raises(ManifestNotFound, match=f"{published}:no-such-tag"):
        getattr(_client(oci_registry), operation)(published, "no-such-tag")


@pytest.mark.parametrize("operation", ["head", "pull"])
def test_unknown_repository_is_manifest_not_found(oci_registry, published, operation):
    with pytest.raises(ManifestNotFound, match="team/pharia-skills/no-such-skill:v1"):
        getattr(_client(oci_registry), operation)(f"{BASE}/no-such-skill", "v1")


def test_an_untrusted_certificate_fails_at_once(oci_registry, published):
    started = time.perf_counter()
    with pytest.raises(RegistryError, match="TLS") as raised:
        _client(oci_registry, ca_bundle=None).head(published, "v1")
    assert type(raised.value) is RegistryError
    assert time.perf_counter() - started < 5


def test_plain_http_against_a_tls_registry_is_a_registry_error(oci_registry, published):
    with pytest.raises(RegistryError):
        _client(oci_registry, insecure=True, ca_bundle=None).head(published, "v1")


@pytest.mark.parametrize(
    "reference", [("Team/Upper", "v1"), ("team//x", "v1"), ("team/x", "bad tag"), ("", "v1")]
)
def test_invalid_references_are_rejected_before_any_request(reference):
    client = RegistryClient("127.0.0.1:9", insecure=True)
    with pytest.raises(RegistryError, match="not a valid OCI"):
        client.head(*reference)


# -- an unreachable or silent registry -------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("insecure", [True, False])
@pytest.mark.parametrize("operation", ["head", "pull"])
def test_registry_down_fails_fast(insecure, operation):
    client = RegistryClient(f"127.0.0.1:{_closed_port()}", user="u", password="p", insecure=insecure)
    started = time.perf_counter()
    with pytest.raises(RegistryError, match="cannot connect to registry 127.0.0.1:") as raised:
        getattr(client, operation)("team/skill", "latest")
    assert type(raised.value) is RegistryError
    assert time.perf_counter() - started < 10


def test_a_registry_that_never_answers_times_out():
    with socket.socket() as sock:  # accepts connections (the kernel's backlog) but never replies
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        client = RegistryClient(f"127.0.0.1:{sock.getsockname()[1]}", insecure=True, timeout=1.0)
        started = time.perf_counter()
        with pytest.raises(RegistryError, match="timed out"):
            client.head("team/skill", "latest")
        assert time.perf_counter() - started < 5


# -- Bearer token registries and corrupt content (in-process fake) ----------------------------------


class FakeTokenRegistry:
    """Serves one skill behind a Docker-style token challenge, like ghcr.io or Docker Hub."""

    def __init__(self, wasm: bytes, *, user: str = "bot", password: str = "pat"):
        self.user, self.password, self.wasm = user, password, wasm
        self.served_wasm = wasm
        self.digest_header = True
        self.token_requests: list[dict] = []
        self.requests: list[tuple[str, str, str]] = []
        self.token = "tok-" + hashlib.sha256(wasm).hexdigest()[:8]
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": WASM_CONFIG, "digest": _sha256(b"{}"), "size": 2},
                "layers": [{"mediaType": WASM_LAYER, "digest": _sha256(wasm), "size": len(wasm)}],
            }
        ).encode()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status, body=b"", headers=()):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self):
                self.do_GET()

            def do_GET(self):
                url = urlsplit(self.path)
                auth = self.headers.get("Authorization", "")
                fake.requests.append((self.command, url.path, auth.split(" ")[0]))
                if url.path == "/token":
                    return self._token(auth, parse_qs(url.query))
                match = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", url.path)
                if not match:
                    return self._send(404)
                repository, kind, reference = match.groups()
                if auth != f"Bearer {fake.token}":
                    challenge = (
                        f'Bearer realm="http://{fake.host}/token",service="fake",'
                        f'scope="repository:{repository}:pull"'
                    )
                    return self._send(
                        401, b'{"errors":[{"code":"UNAUTHORIZED"}]}', [("WWW-Authenticate", challenge)]
                    )
                if repository != "team/skill":
                    return self._send(
                        404, b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository unknown"}]}'
                    )
                if kind == "manifests" and reference == "v1":
                    headers = [("Content-Type", OCI_MANIFEST)]
                    if fake.digest_header:
                        headers.append(("Docker-Content-Digest", _sha256(fake.manifest)))
                    return self._send(200, fake.manifest, headers)
                if kind == "blobs" and reference == _sha256(fake.wasm):
                    return self._send(200, fake.served_wasm, [("Content-Type", "application/octet-stream")])
                self._send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}')

            def _token(self, auth, query):
                fake.token_requests.append({k: v[0] for k, v in query.items()})
                expected = base64.b64encode(f"{fake.user}:{fake.password}".encode()).decode()
                if auth != f"Basic {expected}":
                    return self._send(401, b'{"errors":[{"code":"DENIED","message":"bad credentials"}]}')
                self._send(
                    200, json.dumps({"token": fake.token}).encode(), [("Content-Type", "application/json")]
                )

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()


WASM = b"\0asm\x0d\0\x01\0" + bytes(range(256)) * 64


def test_bearer_challenge_gets_a_token_once_and_reuses_it():
    with FakeTokenRegistry(WASM) as fake:
        client = RegistryClient(fake.host, user="bot", password="pat", insecure=True)
        digest = client.head("team/skill", "v1")
        pulled = client.pull("team/skill", "v1")
    assert pulled == Pulled(wasm=WASM, manifest_digest=digest, layer_digest=_sha256(WASM))
    assert fake.token_requests == [{"service": "fake", "scope": "repository:team/skill:pull"}]
    # one challenge, then the token goes along with every request
    assert [auth for _method, path, auth in fake.requests if path != "/token"] == [
        "Basic",
        "Bearer",
        "Bearer",
        "Bearer",
    ]


def test_bearer_with_wrong_credentials_is_unauthorized():
    with FakeTokenRegistry(WASM) as fake:
        client = RegistryClient(fake.host, user="bot", password="wrong", insecure=True)
        with pytest.raises(RegistryUnauthorized, match="'bot'"):
            client.head("team/skill", "v1")


def test_bearer_unknown_repository_and_tag_are_not_found():
    with FakeTokenRegistry(WASM) as fake:
        client = RegistryClient(fake.host, user="bot", password="pat", insecure=True)
        with pytest.raises(ManifestNotFound):
            client.head("team/other", "v1")
        with pytest.raises(ManifestNotFound, match="MANIFEST_UNKNOWN"):
            client.pull("team/skill", "v2")


def test_a_layer_that_does_not_match_its_digest_is_rejected():
    with FakeTokenRegistry(WASM) as fake:
        fake.served_wasm = WASM[:-1] + b"x"
        client = RegistryClient(fake.host, user="bot", password="pat", insecure=True)
        with pytest.raises(RegistryError, match="hashes to"):
            client.pull("team/skill", "v1")


def test_a_truncated_layer_is_rejected():
    with FakeTokenRegistry(WASM) as fake:
        fake.served_wasm = WASM[:100]
        client = RegistryClient(fake.host, user="bot", password="pat", insecure=True)
        with pytest.raises(RegistryError, match="got 100 bytes"):
            client.pull("team/skill", "v1")


def test_head_without_a_digest_header_hashes_the_manifest():
    with FakeTokenRegistry(WASM) as fake:
        fake.digest_header = False
        client = RegistryClient(fake.host, user="bot", password="pat", insecure=True)
        assert client.head("team/skill", "v1") == _sha256(fake.manifest)
    assert [method for method, path, _auth in fake.requests if path != "/token"] == ["HEAD", "HEAD", "GET"]
