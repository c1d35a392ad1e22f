"""A real OCI registry on loopback for tests, and the official publisher to push skills into it.

:class:`TestRegistry` runs Debian's ``docker-registry`` (CNCF distribution 2.8) with TLS (a throwaway
CA and a leaf certificate for ``localhost``/``127.0.0.1``, made with ``cryptography``) and htpasswd
auth (a bcrypt entry from ``htpasswd -B``, Debian's ``apache2-utils``), storage in a temp dir.

:meth:`TestRegistry.publish` pushes a component with the SDK's own ``pharia-skill publish``, which
calls the Rust ``pharia-skill-cli``: that client speaks HTTPS only and trusts the CA through
``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from ipaddress import IPv4Address
from pathlib import Path

REGISTRY_BIN = "docker-registry"
HTPASSWD_BIN = "htpasswd"


def missing_tools() -> list[str]:
    """The executables :class:`TestRegistry` needs that are not on PATH."""
    return [tool for tool in (REGISTRY_BIN, HTPASSWD_BIN) if shutil.which(tool) is None]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a localhost leaf it signed: (ca.pem, server.pem, server.key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=2))

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "skill-kernel test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(validity[0])
        .not_valid_after(validity[1])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


class TestRegistry:
    """``docker-registry serve`` on ``127.0.0.1:<free port>``, TLS + htpasswd, storage in a temp dir.

    ``host`` is ``"localhost:PORT"`` (the certificate also covers ``127.0.0.1``); ``ca_path`` is the
    PEM of the CA that signed the server certificate.
    """

    __test__ = False  # not a test class, despite the name

    def __init__(self, *, user: str = "skill-publisher", password: str = "s3cret-publish-token"):
        self.user = user
        self.password = password
        self.port = 0
        self.host = ""
        self.root: Path | None = None
        self.ca_path: Path | None = None
        self._process: subprocess.Popen | None = None
        self._log = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self, *, timeout: float = 15.0) -> TestRegistry:
        missing = missing_tools()
        if missing:
            raise RuntimeError(f"cannot start a test registry, missing: {', '.join(missing)}")
        self.root = Path(tempfile.mkdtemp(prefix="skill-kernel-registry-"))
        self.ca_path, cert, key = _write_certificates(self.root)
        htpasswd = subprocess.run(
            [HTPASSWD_BIN, "-Bbn", self.user, self.password], capture_output=True, text=True, check=True
        ).stdout
        (self.root / "htpasswd").write_text(htpasswd)
        (self.root / "storage").mkdir()
        for _attempt in range(3):  # the free port may be taken between choosing and binding it
            self.port = _free_port()
            self.host = f"localhost:{self.port}"
            config = self.root / "config.yml"
            config.write_text(
                "version: 0.1\n"
                "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
                "  delete:\n    enabled: true\n"
                "http:\n"
                f"  addr: 127.0.0.1:{self.port}\n"
                "  secret: skill-kernel-test-registry\n"
                f"  tls:\n    certificate: {cert}\n    key: {key}\n"
                f"auth:\n  htpasswd:\n    realm: skill-kernel-test\n    path: {self.root / 'htpasswd'}\n"
            )
            self._log = open(self.root / "registry.log", "wb")
            self._process = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(config)],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
            )
            if self._wait_ready(timeout):
                return self
            self._terminate()
        log = (self.root / "registry.log").read_text(errors="replace")[-4000:]
        self.stop()
        raise RuntimeError(f"docker-registry did not come up:\n{log}")

    def _wait_ready(self, timeout: float) -> bool:
        context = ssl.create_default_context(cafile=str(self.ca_path))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                urllib.request.urlopen(f"https://{self.host}/v2/", context=context, timeout=1)
                return True  # only without auth; with it, a 401 below
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(5)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        self._terminate()
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> TestRegistry:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- publishing -------------------------------------------------------------------------------

    def publish(
        self,
        wasm: Path,
        *,
        repository: str,
        name: str,
        tag: str,
        toolchain: str | None = None,
        password: str | None = None,
    ) -> None:
        """Push ``wasm`` as ``{repository}/{name}:{tag}`` with the SDK's ``pharia-skill publish``.

        ``toolchain`` picks the SDK venv (default: the SDK at main, ``sdk-main-<commit>``; the 0.20.0
        SDK ships the same ``pharia-skill-cli``). ``password`` overrides the registry password.
        """
        from skills import builder

        if not repository.strip("/"):
            # pharia-skill-cli would POST /v2//{name}/blobs/uploads/ and fail on distribution's redirect.
            raise ValueError("pharia-skill publish needs a non-empty SKILL_REPOSITORY")
        bin_dir = builder.sdk_bin(toolchain or f"sdk-main-{builder.SDK_MAIN_COMMIT}")
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
            "VIRTUAL_ENV": str(bin_dir.parent),
            "SSL_CERT_FILE": str(self.ca_path),
            "SKILL_REGISTRY": self.host,
            "SKILL_REPOSITORY": repository,
            "SKILL_REGISTRY_USER": self.user,
            "SKILL_REGISTRY_TOKEN": self.password if password is None else password,
            "NO_COLOR": "1",
            "TERM": "dumb",
        }
        command = [str(bin_dir / "pharia-skill"), "publish", str(Path(wasm).resolve()), "--name", name]
        command += ["--tag", tag]
        # The SDK loads a .env from the working directory: run where there is none.
        with tempfile.TemporaryDirectory(prefix="skill-publish-") as cwd:
            result = subprocess.run(
                command,
                env=env,
                cwd=cwd,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
        if result.returncode != 0:
            raise RuntimeError(
                f"pharia-skill publish {name}:{tag} to {self.host}/{repository} failed "
                f"(exit {result.returncode}):\n{result.stderr.strip()}\n{result.stdout.strip()}"
            )
