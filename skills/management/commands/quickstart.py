"""Prepare the embedded default: migrate, an admin user with an API token, the example skills.

What a newcomer needs last on the screen is a short block (URL, login, ``export TOKEN=...``, one
curl that works); :func:`summary` writes it, here and again when gunicorn is ready
(``kernel_site/gunicorn_conf.py``). The password and the second factor (authenticator QR code,
recovery codes) go into ``$SKILL_KERNEL_DATA/quickstart-admin.txt`` (mode 0600), whose path the
block prints; ``--show-second-factor`` prints the QR code and recovery codes in the terminal.
"""

import io
import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from skills import builder
from skills.models import SkillVersion

EXAMPLES = settings.BASE_DIR / "examples"
DEFAULT_URL = "http://127.0.0.1:8000"
# The curl of the block: the example skill that shows the kernel's language service.
CURL_SKILL = "examples/hello"
RAG_COLLECTION = "handbook"  # examples/rag/handbook, searched by examples/rag
CURL_INPUT = {"name": "Ada", "note": "Das Wetter ist heute schön."}


def devices_for(user) -> list:
    return list(devices_for_user(user, confirmed=True))


def credentials_file() -> Path:
    return settings.DATA_DIR / "quickstart-admin.txt"


def _stored_password(username: str) -> str | None:
    """The password quickstart created, as written into the credentials file (None if not there)."""
    try:
        lines = credentials_file().read_text().splitlines()
    except OSError:
        return None
    prefix = f"password of {username}: "
    return next((line[len(prefix) :] for line in lines if line.startswith(prefix)), None)


def summary(username: str = "admin", url: str = DEFAULT_URL) -> str:
    """The block printed last: where the kernel is, how to log in, a token and a curl that works.

    The token is the user's DRF token (stored in clear in the database, so printing it again on a
    laptop reveals nothing the data directory does not); it is created if missing."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        return ""
    url = url.rstrip("/")
    token, _ = Token.objects.get_or_create(user=user)
    password = _stored_password(username)
    login = (
        f"{username} / {password}"
        if password
        else (f"{username} (password not stored; set one: python manage.py changepassword {username})")
    )
    second = credentials_file()
    second_factor = (
        f"authenticator QR code and recovery codes in {second}"
        if second.exists()
        else "python manage.py quickstart --show-second-factor"
    )
    body = json.dumps(CURL_INPUT, ensure_ascii=False)
    lines = [
        "",
        "─" * 78,
        f"  Skill Kernel   {url}/   (admin: /admin/, API docs: /openapi.json)",
        f"  Log in         {login}",
        f"  Second factor  {second_factor}",
        "  API token      run this in the terminal you call the API from:",
        "",
        f"    export TOKEN={token.key}",
        "    curl -s -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' \\",
        f"         -d '{body}' {url}/v1/skills/{CURL_SKILL}/run",
        "",
        "─" * 78,
    ]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Migrate, create the admin user and its API token, build and register the example skills."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--namespace", default="examples")
        parser.add_argument("--url", default=DEFAULT_URL, help="Where the kernel will serve (for the block)")
        parser.add_argument(
            "--no-summary",
            action="store_true",
            help="Leave the block out (`make start` prints it when served)",
        )
        parser.add_argument(
            "--show-second-factor",
            action="store_true",
            help="Also print the authenticator QR code and the recovery codes in the terminal",
        )

    def handle(self, username, namespace, url, show_second_factor, no_summary, **options):
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            Token.objects.get_or_create(user=user)
        if not devices_for(user):
            self.second_factor(user, password if created else None)
            self.watched_directory()
        call_command("configure_namespace", namespace, native_tools="add,subtract,saboteur", verbosity=0)
        for source in sorted(EXAMPLES.glob("*/*.py")):
            self.stdout.write(f"Building {source.relative_to(settings.BASE_DIR)} ...")
            wasm = builder.build(Path(source))
            name = source.stem.replace("_", "-")
            call_command("register_skill", namespace, name, str(wasm), fast=True, stdout=self.stdout)
            self.describe(namespace, name, source.with_suffix(".json"))
        self.load_examples_collection(namespace)
        if show_second_factor:
            self.stdout.write(self.second_factor_text(user))
        if not no_summary:
            self.stdout.write(summary(username, url))

    def describe(self, namespace: str, name: str, path: Path) -> None:
        """Fill in what a component does not declare from ``examples/<skill>/<skill>.json``.

        Message-stream skills of pharia:skill@0.3 (pharia-skill 0.20) export no metadata, so the
        catalogue would show no description, no schema and an empty try-it; the JSON file next to
        the source gives them (``description``, ``input_schema``, ``output_schema``). Only empty
        fields are filled: what the component declares wins."""
        if not path.is_file():
            return
        declared = json.loads(path.read_text())
        versions = SkillVersion.objects.filter(skill__namespace__name=namespace, skill__name=name)
        for field in ("description", "input_schema", "output_schema"):
            if declared.get(field):
                empty = {f"{field}__isnull": True} if field != "description" else {field: ""}
                versions.filter(**empty).update(**{field: declared[field]})

    def load_examples_collection(self, namespace: str) -> None:
        """The collection the example RAG skill searches (``examples/rag/handbook``), in the
        built-in document index."""
        call_command(
            "load_documents",
            f"{namespace}/{RAG_COLLECTION}",
            str(EXAMPLES / "rag" / RAG_COLLECTION),
            stdout=self.stdout,
        )

    def second_factor(self, user, password: str | None = None) -> None:
        """A TOTP device and ten recovery codes, so the admin's two-factor login works from day one;
        written with the password into the credentials file (0600), not into the terminal."""
        TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(10)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
        text = ""
        if password:
            text += (
                f"password of {user.username}: {password}\n"
                "(as created by quickstart; change it with python manage.py changepassword "
                f"{user.username})\n\n"
            )
        text += self.second_factor_text(user)
        path = credentials_file()
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(text)
        path.chmod(0o600)  # an existing file keeps its mode through os.open

    @staticmethod
    def second_factor_text(user) -> str:
        """The QR code, otpauth URI and unused recovery codes of the user's second factor."""
        import qrcode

        totp = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        codes = StaticToken.objects.filter(device__user=user, device__confirmed=True)
        if totp is None:
            return "No authenticator device.\n"
        qr = qrcode.QRCode(border=1)
        qr.add_data(totp.config_url)
        picture = io.StringIO()
        qr.print_ascii(out=picture)
        return (
            f"Two-factor login of {user.username} (the catalogue and /admin/ ask for a code).\n"
            "Scan this with an authenticator app, or add the otpauth URI by hand:\n"
            f"{picture.getvalue()}\n{totp.config_url}\n\n"
            "Recovery codes (each works once instead of a code): "
            + " ".join(code.token for code in codes)
            + "\n"
        )

    def watched_directory(self) -> None:
        """Namespace ``dev`` serves every ``*.wasm`` dropped into ``$SKILL_KERNEL_DATA/skills``."""
        from skills.models import Namespace, NamespaceSource

        directory = settings.DATA_DIR / "skills"
        directory.mkdir(parents=True, exist_ok=True)
        namespace, _ = Namespace.objects.get_or_create(name="dev")
        NamespaceSource.objects.get_or_create(
            namespace=namespace,
            defaults={"kind": NamespaceSource.DIRECTORY, "directory": str(directory)},
        )
        self.stdout.write(
            f"Drop a skill into {directory}/NAME.wasm: it serves as dev/NAME within seconds "
            "(namespace sources: /admin/skills/namespacesource/)."
        )
