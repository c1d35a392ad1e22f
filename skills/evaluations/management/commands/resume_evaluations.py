"""Restart the driver of every evaluation whose process is gone (e.g. after a kernel restart)."""

from django.core.management.base import BaseCommand

from skills.evaluations import runner
from skills.services import process


class Command(BaseCommand):
    help = (
        "Resume evaluations without a live driver (no heartbeat for EVALUATION_STALE_SECONDS): "
        "on a Celery worker when distributed, in this process (until they end) when embedded."
    )

    def handle(self, *args, **options):
        claimed = runner.claim_stale()
        for evaluation_id in claimed:
            if process.is_distributed():
                runner.start(evaluation_id)
            else:
                evaluation = runner.drive(evaluation_id)
                self.stdout.write(
                    f"evaluation {evaluation_id}: {evaluation.status if evaluation else 'gone'}"
                )
        self.stdout.write(f"resumed {len(claimed)} evaluation(s)")
