from django.conf import settings
from django.core.management.base import BaseCommand

from skills import telemetry


class Command(BaseCommand):
    help = (
        "Delete stored spans older than TRACE_RETENTION_DAYS (run it daily, e.g. from cron or Celery beat)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="override TRACE_RETENTION_DAYS")

    def handle(self, days, **options):
        days = settings.TRACE_RETENTION_DAYS if days is None else days
        deleted = telemetry.cleanup_spans(days)
        self.stdout.write(f"deleted {deleted} spans older than {days} days")
