"""Celery task of distributed mode: drive one evaluation (found by autodiscovery of this app)."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def drive_evaluation(evaluation_id: int) -> None:
    """Run the evaluation's pending examples; a redelivered task resumes where the last one stopped."""
    from skills.evaluations import runner

    runner.drive(evaluation_id)
