"""Prepare the embedded default: migrate, an admin user with an API token, the example skills."""

import io
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

EXAMPLES = settings.BASE_DIR / "examples"


def devices_for(user) -> list:
    return list(devices_for_user(user, confirmed=True))


class Command(BaseCommand):
    help = "Migrate, create the admin user and its API token, build and register the example skills."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--namespace", default="examples")

    def handle(self, username, namespace, **options):
        settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
        call_command("migrate", verbosity=0)
        user, created = get_user_model().objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save()
            token = Token.objects.create(user=user)
            self.stdout.write(self.style.SUCCESS("Created the admin user. Shown once, keep them:"))
            self.stdout.write(f"  admin login:  {username} / {password}")
            self.stdout.write(f"  API token:    {token.key}")
        if not devices_for(user):
            self.second_factor(user)
        else:
            self.stdout.write(
                f"Admin user {username} exists (token: python manage.py drf_create_token {username})"
            )
        call_command("configure_namespace", namespace, native_tools="add,subtract,saboteur", verbosity=0)
        for source in sorted(EXAMPLES.glob("*/*.py")):
            self.stdout.write(f"Building {source.relative_to(settings.BASE_DIR)} ...")
            wasm = builder.build(Path(source))
            call_command("register_skill", namespace, source.stem.replace("_", "-"), str(wasm))

    def second_factor(self, user) -> None:
        """A TOTP device and ten recovery codes, so the admin's two-factor login works from day one."""
        import qrcode

        totp = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        recovery = StaticDevice.objects.create(user=user, name="recovery codes", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(10)]
        StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
        qr = qrcode.QRCode(border=1)
        qr.add_data(totp.config_url)
        picture = io.StringIO()
        qr.print_ascii(out=picture)
        self.stdout.write(self.style.SUCCESS("Two-factor login for the admin. Shown once:"))
        self.stdout.write("  Scan this with an authenticator app, or add the otpauth URI by hand:")
        self.stdout.write(picture.getvalue())
        self.stdout.write(f"  {totp.config_url}")
        self.stdout.write("  Recovery codes (each works once instead of a code): " + " ".join(codes))
        self.watched_directory()

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

