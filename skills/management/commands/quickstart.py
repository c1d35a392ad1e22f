"""Prepare the embedded default: migrate, an admin user with an API token, the example skills."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from skills import builder

EXAMPLES = settings.BASE_DIR / "examples"


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
        else:
            self.stdout.write(
                f"Admin user {username} exists (token: python manage.py drf_create_token {username})"
            )
        call_command("configure_namespace", namespace, native_tools="add,subtract,saboteur", verbosity=0)
        for source in sorted(EXAMPLES.glob("*/*.py")):
            self.stdout.write(f"Building {source.relative_to(settings.BASE_DIR)} ...")
            wasm = builder.build(Path(source))
            call_command("register_skill", namespace, source.stem.replace("_", "-"), str(wasm))
