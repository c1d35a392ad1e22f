"""Create a named API token for a user and print its secret (shown once)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from skills.services import tokens


class Command(BaseCommand):
    help = "Create a named API token (sk_...) for USERNAME; prints the secret once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="cli")
        parser.add_argument("--expires-days", type=int, default=None, help="Days until it expires")

    def handle(self, username, label, expires_days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        issued = tokens.create_token(user, label, expires_at=expires_at)
        self.stdout.write(issued.secret)
