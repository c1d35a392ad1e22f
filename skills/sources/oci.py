"""Read skills published with ``pharia-skill publish`` from an OCI registry, over oras-py.

What the official publisher (``pharia-skill-cli``) pushes for ``pharia-skill publish skill.wasm
--name NAME --tag TAG``:

* repository ``{SKILL_REPOSITORY}/{NAME}`` (PhariaEngine resolves skills the same way, see
  :meth:`RegistryClient.repository`);
* an OCI image manifest v1 (``application/vnd.oci.image.manifest.v1+json``) whose config has media
  type ``application/vnd.wasm.config.v0+json`` and carries a creation timestamp, so re-publishing
  the same bytes yields a new *manifest* digest;
* exactly one layer ``application/wasm``: the component itself, its digest the sha256 of the file
  (unchanged by a re-publish of the same bytes).

:class:`RegistryClient` only reads: :meth:`~RegistryClient.head` resolves a tag to its manifest
digest with one cheap ``HEAD`` (to notice a re-publish), :meth:`~RegistryClient.pull` fetches the
manifest and the wasm layer and checks both digests.

How oras-py is used, and why some of it is side-stepped:

* ``oras.provider.Registry.do_request`` is wrapped in a retry decorator that retries *any* error
  (connection refused included) five times, sleeping ~131 s in all; the undecorated function
  (``__wrapped__``) is used so an unreachable registry fails within the connect timeout.
* ``requests`` has no default timeout and oras-py passes none: the session sets one on every request
  (connect ``min(3, timeout)`` s, read ``timeout`` s).
* Credentials are sent pre-emptively as HTTP Basic; ``login()`` is never called (it writes
  ``~/.docker/config.json``) and neither ``~/.docker/config.json`` nor ``ORAS_USER``/``ORAS_PASS``
  are read: only the credentials given here are used.
* URLs are built here rather than with ``oras.container.Container``, whose reference regex guesses
  the registry from the first path segment (``my.org/skills`` would become a registry host).

Token (Bearer) registries such as ghcr.io or Docker Hub answer ``401`` with ``WWW-Authenticate:
Bearer realm=...,service=...,scope=...``: the client then asks the realm for a token (with the
Basic credentials, or anonymously without), retries with it and reuses it for later requests. Tokens
are cached per challenge, and a rejected token is fetched anew once. Cloud-specific schemes (ECR's
``aws ecr get-login-password``, refresh tokens, identity tokens from credential helpers) are not
supported: pass the resulting user/password or token instead.

No Django imports: the module is a plain client the kernel's sources build on.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import oras.auth.base
import oras.auth.utils
import oras.provider
import requests

__all__ = [
    "OCI_MANIFEST",
    "WASM_CONFIG",
    "WASM_LAYER",
    "ManifestNotFound",
    "Pulled",
    "RegistryClient",
    "RegistryError",
    "RegistryUnauthorized",
]

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
WASM_CONFIG = "application/vnd.wasm.config.v0+json"
WASM_LAYER = "application/wasm"

CONNECT_TIMEOUT = 3.0
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # distribution's own limit for a manifest
_CHUNK = 1024 * 1024

# OCI distribution spec: repository name components and tags.
_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


class RegistryError(Exception):
    """A registry request failed; the message says what failed and where."""


class RegistryUnauthorized(RegistryError):
    """The registry refused the credentials (401/403), or wanted some and none were given."""


class ManifestNotFound(RegistryError):
    """The repository or the tag does not exist (404)."""


@dataclass(frozen=True)
class Pulled:
    wasm: bytes
    manifest_digest: str  # "sha256:..."
    layer_digest: str  # "sha256:...", the sha256 of ``wasm``


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _registry_message(response: requests.Response) -> str:
    """``CODE: message`` from a distribution error body, or the HTTP reason."""
    try:
        errors = response.json().get("errors") or []
        parts = [
            f"{e.get('code', '?')}: {e.get('message', '')}".strip() for e in errors if isinstance(e, dict)
        ]
        if parts:
            return "; ".join(parts)
    except (ValueError, AttributeError):
        pass
    return f"{response.status_code} {response.reason}".strip()


def _reason(exc: BaseException) -> str:
    """The useful tail of a requests/urllib3 exception ('[Errno 111] Connection refused')."""
    text = str(exc)
    match = re.search(r"\[Errno -?\d+\][^'\"(]*|certificate verify failed[^'\"(]*", text)
    return match.group(0).strip() if match else text


class _Session(requests.Session):
    def __init__(self, timeout: tuple[float, float]):
        super().__init__()
        self._timeout = timeout

    def request(self, method, url, *args, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, *args, **kwargs)


class _Auth(oras.auth.base.AuthBackend):
    """Basic credentials given explicitly, plus the Bearer token dance when challenged.

    oras-py's ``do_request`` calls :meth:`authenticate_request` on a 401/403 and retries with the
    headers it returns; when nothing better can be sent, this raises :class:`RegistryUnauthorized`
    instead of letting oras retry in vain.
    """

    def __init__(self, registry: str, user: str, password: str, session: requests.Session, verify):
        super().__init__()
        self.registry = registry
        self.user = user
        self.session = session
        self._tls_verify = verify
        self._basic_auth: str | None = None  # set_basic_auth() by the client
        self._password = password
        self._tokens: dict[tuple[str, str, str], str] = {}
        self.bearer: str | None = None  # the last token obtained, sent pre-emptively

    def get_auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Basic {self._basic_auth}"} if self._basic_auth else {}

    def _refused(self, original: requests.Response) -> RegistryUnauthorized:
        who = (
            f"the credentials of user {self.user!r}"
            if self.user
            else "anonymous access (no credentials given)"
        )
        return RegistryUnauthorized(
            f"registry {self.registry} refused {who}: {original.request.method} {original.url} -> "
            f"{_registry_message(original)}"
        )

    def authenticate_request(self, original: requests.Response, headers: dict, refresh: bool = False):
        headers = dict(headers or {})
        challenge = original.headers.get("WWW-Authenticate", "")
        scheme = challenge.split(" ", 1)[0].lower()
        sent = headers.get("Authorization", "")
        if scheme == "basic" or not scheme:
            if self._basic_auth and sent != f"Basic {self._basic_auth}":
                headers.update(self.get_auth_header())
                return headers, True
            raise self._refused(original)
        if scheme != "bearer":
            raise RegistryUnauthorized(
                f"registry {self.registry} asks for unsupported authentication {challenge!r} "
                f"at {original.url}"
            )
        h = oras.auth.utils.parse_auth_header(challenge)
        if not h.realm:
            raise RegistryUnauthorized(f"registry {self.registry} sent a Bearer challenge without realm")
        key = (h.realm, h.service or "", h.scope or "")
        token = self._tokens.get(key)
        if refresh or token is None or sent == f"Bearer {token}":
            token = self._request_token(h)  # none yet for this scope, or the one sent was refused
            self._tokens[key] = token
        self.bearer = token
        headers["Authorization"] = f"Bearer {token}"
        return headers, True

    def _request_token(self, h: Any) -> str:
        params = {k: v for k, v in (("service", h.service), ("scope", h.scope)) if v}
        auth = (self.user, self._password) if self.user else None
        response = self.session.get(h.realm, params=params, auth=auth, verify=self._tls_verify)
        if response.status_code in (401, 403):
            raise self._refused(response)
        if response.status_code != 200:
            raise RegistryError(
                f"token endpoint {h.realm} of registry {self.registry} answered {_registry_message(response)}"
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise RegistryError(f"token endpoint {h.realm} of registry {self.registry} returned no token")
        return token


class _Registry(oras.provider.Registry):
    _do_request = oras.provider.Registry.do_request.__wrapped__  # type: ignore[attr-defined]

    def do_request(self, url, method="GET", data=None, headers=None, json=None, stream=False):
        headers = dict(headers or {})
        bearer = getattr(self.auth, "bearer", None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        return self._do_request(url, method, data=data, headers=headers, json=json, stream=stream)


class RegistryClient:
    """Read-only access to skills in one OCI registry (``host[:port]``, no scheme).

    ``insecure=True`` talks plain HTTP (a registry on loopback); otherwise HTTPS, verified against
    ``ca_bundle`` (a PEM file) or the system trust store. ``timeout`` is the read timeout in seconds;
    connecting gives up after ``min(3, timeout)`` seconds, with no retries.

    Every failure raises :class:`RegistryError` or one of its subclasses, never a ``requests`` or
    oras-py exception.
    """

    def __init__(
        self,
        registry: str,
        *,
        user: str = "",
        password: str = "",
        insecure: bool = False,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
    ):
        registry = registry.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not registry or "/" in registry:
            raise RegistryError(f"not a registry host: {registry!r} (expected host[:port])")
        self.registry = registry
        self.user = user
        self.insecure = insecure
        verify: bool | str = ca_bundle or True
        self._oras = _Registry(hostname=registry, insecure=insecure, tls_verify=verify, auth_backend="basic")
        session = _Session((min(CONNECT_TIMEOUT, timeout), timeout))
        session.cookies = self._oras.session.cookies  # keeps oras-py's "ignore all cookies" policy
        self._oras.session.close()
        self._oras.session = session
        self._oras.auth = _Auth(registry, user, password, session, verify)
        self._oras.auth.prefix = self._oras.prefix
        if user:
            self._oras.auth.set_basic_auth(user, password)
            self._oras.set_header("Authorization", self._oras.auth.get_auth_header()["Authorization"])
        self._base = f"{self._oras.prefix}://{registry}/v2"

    def __repr__(self) -> str:
        return f"RegistryClient({self.registry!r}, user={self.user!r}, insecure={self.insecure})"

    def close(self) -> None:
        self._oras.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @staticmethod
    def repository(base_repository: str, skill: str) -> str:
        """PhariaEngine's naming: ``{base}/{skill}``, or just ``skill`` when the base is empty."""
        base = base_repository.strip("/")
        return f"{base}/{skill}" if base else skill

    # -- requests ---------------------------------------------------------------------------------

    def _where(self, repository: str, tag: str) -> str:
        return f"{self.registry}/{repository}:{tag}"

    def _check_reference(self, repository: str, reference: str, *, digest: bool = False) -> None:
        if not _REPOSITORY.fullmatch(repository):
            raise RegistryError(f"not a valid OCI repository name: {repository!r}")
        if not (_DIGEST.fullmatch(reference) if digest else _TAG.fullmatch(reference)):
            raise RegistryError(f"not a valid OCI {'digest' if digest else 'tag'}: {reference!r}")

    def _request(self, method: str, url: str, *, accept: str | None = None, stream: bool = False):
        headers = dict(self._oras.headers)
        if accept:
            headers["Accept"] = accept
        try:
            return self._oras.do_request(url, method, headers=headers, stream=stream)
        except RegistryError:
            raise
        except requests.exceptions.SSLError as exc:
            raise RegistryError(f"TLS with registry {self.registry} failed: {_reason(exc)}") from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise RegistryError(
                f"registry {self.registry} did not accept a connection within {CONNECT_TIMEOUT:g} s"
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            raise RegistryError(f"cannot connect to registry {self.registry}: {_reason(exc)}") from exc
        except requests.exceptions.Timeout as exc:
            raise RegistryError(f"registry {self.registry} timed out on {method} {url}") from exc
        except requests.exceptions.RequestException as exc:
            raise RegistryError(f"{method} {url} failed: {_reason(exc)}") from exc

    def _raise_for_manifest(self, response: requests.Response, repository: str, tag: str) -> None:
        where = self._where(repository, tag)
        if response.status_code == 404:
            detail = _registry_message(response) if response.request.method != "HEAD" else "404 Not Found"
            raise ManifestNotFound(f"no manifest {where} ({detail})")
        if response.status_code in (401, 403):
            raise RegistryUnauthorized(
                f"registry {self.registry} refused access to {where}: {_registry_message(response)}"
            )
        if response.status_code != 200:
            raise RegistryError(
                f"registry {self.registry} answered {_registry_message(response)} for manifest {where}"
            )

    def head(self, repository: str, tag: str) -> str:
        """The manifest digest a tag points at (``"sha256:..."``), with one ``HEAD``.

        Falls back to a ``GET`` (hashing the body) if the registry sends no ``Docker-Content-Digest``.
        """
        self._check_reference(repository, tag)
        url = f"{self._base}/{repository}/manifests/{tag}"
        response = self._request("HEAD", url, accept=OCI_MANIFEST)
        self._raise_for_manifest(response, repository, tag)
        digest = response.headers.get("Docker-Content-Digest", "")
        if _DIGEST.fullmatch(digest):
            return digest
        return self._manifest(repository, tag)[1]

    def _manifest(self, repository: str, tag: str) -> tuple[dict, str]:
        url = f"{self._base}/{repository}/manifests/{tag}"
        where = self._where(repository, tag)
        response = self._request("GET", url, accept=OCI_MANIFEST, stream=True)
        with response:
            self._raise_for_manifest(response, repository, tag)
            body = response.raw.read(MAX_MANIFEST_BYTES + 1, decode_content=True)
        if len(body) > MAX_MANIFEST_BYTES:
            raise RegistryError(f"manifest {where} is larger than {MAX_MANIFEST_BYTES} bytes")
        digest = _sha256(body)
        sent = response.headers.get("Docker-Content-Digest")
        if sent and sent.startswith("sha256:") and sent != digest:
            raise RegistryError(f"manifest {where}: registry says digest {sent}, content hashes to {digest}")
        try:
            manifest = json.loads(body)
        except ValueError as exc:
            raise RegistryError(f"manifest {where} is not JSON: {exc}") from exc
        if not isinstance(manifest, dict):
            raise RegistryError(f"manifest {where} is not a JSON object")
        return manifest, digest

    def pull(self, repository: str, tag: str) -> Pulled:
        """The manifest and its ``application/wasm`` layer; checks the layer's size and sha256."""
        self._check_reference(repository, tag)
        where = self._where(repository, tag)
        manifest, manifest_digest = self._manifest(repository, tag)
        media_type = manifest.get("mediaType")
        if media_type not in (None, OCI_MANIFEST):
            raise RegistryError(f"manifest {where} has media type {media_type!r}, expected {OCI_MANIFEST}")
        layers = [
            layer
            for layer in manifest.get("layers") or []
            if isinstance(layer, dict) and layer.get("mediaType") == WASM_LAYER
        ]
        if len(layers) != 1:
            types = [
                layer.get("mediaType") for layer in manifest.get("layers") or [] if isinstance(layer, dict)
            ]
            raise RegistryError(
                f"manifest {where} has {len(layers)} {WASM_LAYER} layers (layers: {types}), expected 1"
            )
        layer_digest, size = layers[0].get("digest", ""), layers[0].get("size")
        if not _DIGEST.fullmatch(str(layer_digest)) or not isinstance(size, int) or size < 0:
            raise RegistryError(f"manifest {where}: bad {WASM_LAYER} layer descriptor {layers[0]!r}")
        wasm = self._blob(repository, layer_digest, size, where)
        return Pulled(wasm=wasm, manifest_digest=manifest_digest, layer_digest=layer_digest)

    def _blob(self, repository: str, digest: str, size: int, where: str) -> bytes:
        url = f"{self._base}/{repository}/blobs/{digest}"
        response = self._request("GET", url, stream=True)
        with response:
            if response.status_code == 404:
                raise RegistryError(f"layer {digest} of {where} is missing from the registry")
            if response.status_code in (401, 403):
                raise RegistryUnauthorized(
                    f"registry {self.registry} refused access to layer {digest} of {where}: "
                    f"{_registry_message(response)}"
                )
            if response.status_code != 200:
                raise RegistryError(
                    f"registry {self.registry} answered {_registry_message(response)} "
                    f"for layer {digest} of {where}"
                )
            hasher = hashlib.sha256()
            chunks: list[bytes] = []
            received = 0
            try:
                for chunk in response.iter_content(chunk_size=_CHUNK):
                    received += len(chunk)
                    if received > size:
                        raise RegistryError(
                            f"layer {digest} of {where} is larger than the {size} bytes declared"
                        )
                    hasher.update(chunk)
                    chunks.append(chunk)
            except requests.exceptions.RequestException as exc:
                raise RegistryError(f"downloading layer {digest} of {where} failed: {_reason(exc)}") from exc
        if received != size:
            raise RegistryError(f"layer {digest} of {where}: got {received} bytes, manifest declares {size}")
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise RegistryError(f"layer {digest} of {where}: content hashes to {actual}")
        return b"".join(chunks)
