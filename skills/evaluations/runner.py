"""Create, drive and cancel evaluations.

The driver is one loop per evaluation (a Celery task when distributed, a thread when embedded):
it keeps at most ``concurrency`` runs in flight on the normal executors, records each result as
its run ends, and always ends the evaluation in a terminal state. It keeps no state of its own:
pending work is the results without a run, in-flight work the results whose run has not ended.
A restarted driver (a redelivered task, a stale heartbeat noticed by a reader) picks up there.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Q
from django.utils import timezone

from skills import telemetry
from skills.evaluations import evaluators
from skills.evaluations.datasets import skill_for
from skills.evaluations.models import Dataset, Evaluation, EvaluationResult
from skills.models import NamespaceGrant, Run, SkillVersion
from skills.services import access, cancellation, dispatch, process
from skills.services.errors import Conflict, InvalidInput, KernelError, NotFound, Unavailable
from skills.services.runs import holder as _holder

log = logging.getLogger(__name__)
IDLE_SECONDS = 0.25  # how long the driver waits for a run to end before looking again
MIN_POLL_SECONDS = 0.01
HEARTBEAT_SECONDS = 2.0


def create_evaluation(
    user,
    dataset: Dataset,
    version_ids: list[int],
    evaluator_configs: list[Any],
    *,
    concurrency: int = 4,
    start_now: bool = True,
) -> Evaluation:
    """Store a queued evaluation of ready versions of the dataset's skill, and start its driver."""
    namespace = dataset.skill.namespace
    access.namespace_for(user, namespace.name, NamespaceGrant.INVOKE)
    if not version_ids:
        raise InvalidInput("choose at least one version")
    versions = list(SkillVersion.objects.filter(skill=dataset.skill, pk__in=version_ids))
    if len(versions) != len(set(version_ids)):
        raise InvalidInput(f"every version must be a version of {dataset.skill}")
    not_ready = [v.digest[:12] for v in versions if v.status != SkillVersion.READY]
    if not_ready:
        raise InvalidInput(f"only ready versions can be evaluated: {', '.join(not_ready)}")
    try:
        configs = evaluators.normalise(evaluator_configs)
    except ValueError as error:
        raise InvalidInput(str(error)) from None
    if not 1 <= concurrency <= settings.EVALUATION_MAX_CONCURRENCY:
        raise InvalidInput(f"concurrency must be between 1 and {settings.EVALUATION_MAX_CONCURRENCY}")
    example_ids = list(dataset.examples.values_list("pk", flat=True))
    if not example_ids:
        raise InvalidInput("the dataset has no examples")
    with transaction.atomic():
        evaluation = Evaluation.objects.create(
            dataset=dataset,
            skill=dataset.skill,
            evaluators=configs,
            concurrency=concurrency,
            total=len(example_ids) * len(versions),
            created_by=user,
        )
        evaluation.versions.set(versions)
        EvaluationResult.objects.bulk_create(
            [
                EvaluationResult(evaluation=evaluation, example_id=example_id, version=version)
                for example_id in example_ids
                for version in sorted(versions, key=lambda v: v.created_at)
            ],
            batch_size=1000,
        )
    if start_now:
        transaction.on_commit(lambda: start(evaluation.pk))
    return evaluation


def start(evaluation_id: int) -> None:
    """Hand the driver to a Celery worker (distributed) or a thread of this process (embedded)."""
    if process.is_distributed():
        from skills.evaluations.tasks import drive_evaluation

        drive_evaluation.delay(evaluation_id)
    else:
        threading.Thread(
            target=_drive_in_thread, args=(evaluation_id,), name=f"evaluation-{evaluation_id}", daemon=True
        ).start()


def _drive_in_thread(evaluation_id: int) -> None:
    try:
        drive(evaluation_id)
    finally:
        close_old_connections()


def drive(evaluation_id: int) -> Evaluation | None:
    """Run every pending example of the evaluation; safe to call again after a crash (or twice:
    only the driver that claimed the evaluation last goes on)."""
    close_old_connections()
    now = timezone.now()
    claimed = Evaluation.objects.filter(
        Q(status=Evaluation.QUEUED) | Q(status=Evaluation.RUNNING), pk=evaluation_id
    ).update(status=Evaluation.RUNNING, driver=process.WORKER_NAME, heartbeat_at=now)
    if not claimed:
        return Evaluation.objects.filter(pk=evaluation_id).first()
    Evaluation.objects.filter(pk=evaluation_id, started_at__isnull=True).update(started_at=now)
    evaluation = Evaluation.objects.select_related("skill__namespace").get(pk=evaluation_id)
    driver = _Driver(evaluation)
    try:
        driver.loop()
    except Exception as error:  # noqa: BLE001 - whatever broke, the evaluation ends
        log.exception("evaluation %s failed", evaluation_id)
        Evaluation.objects.filter(pk=evaluation_id, status=Evaluation.RUNNING).update(
            status=Evaluation.FAILED,
            error_message=f"the evaluation stopped: {error}",
            finished_at=timezone.now(),
        )
    finally:
        close_old_connections()
    return Evaluation.objects.filter(pk=evaluation_id).first()  # None: deleted meanwhile


class _AlreadyStarted(Exception):
    pass


class _Driver:
    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.configs = evaluation.evaluators
        self.futures: dict[Any, Future] = {}  # run id -> future (embedded)
        self.channels: dict[Any, dispatch.RunChannel] = {}  # run id -> its notices (distributed)
        self.beat = 0.0

    def loop(self) -> None:
        try:
            self._loop()
        finally:
            for channel in self.channels.values():
                channel.close()
        self._rescore_traced()

    def _loop(self) -> None:
        evaluation = self.evaluation
        while True:
            status = self._heartbeat()
            if status == Evaluation.CANCELLED:
                self._stop()
                break
            if status != Evaluation.RUNNING:  # another driver took over, or it failed elsewhere
                break
            self._record_ended()
            in_flight = self._in_flight().count()
            started = 0
            if in_flight < evaluation.concurrency:
                started = self._submit(evaluation.concurrency - in_flight)
            if not in_flight and not started and not self._pending().exists():
                self._finish()
                break
            if not started:
                self._wait()

    # -- bookkeeping -------------------------------------------------------------------------

    def _heartbeat(self) -> str:
        """The stored status; heartbeats while this driver holds the evaluation. A driver that
        another one took over from (its name is gone from the row) stops."""
        if time.monotonic() - self.beat >= HEARTBEAT_SECONDS:
            self.beat = time.monotonic()
            held = Evaluation.objects.filter(
                pk=self.evaluation.pk, status=Evaluation.RUNNING, driver=process.WORKER_NAME
            ).update(heartbeat_at=timezone.now())
            if not held:
                status = Evaluation.objects.values_list("status", flat=True).get(pk=self.evaluation.pk)
                return status if status != Evaluation.RUNNING else "taken-over"
            return Evaluation.RUNNING
        return Evaluation.objects.values_list("status", flat=True).get(pk=self.evaluation.pk)

    def _results(self):
        return EvaluationResult.objects.filter(evaluation=self.evaluation)

    def _pending(self):
        return self._results().filter(run__isnull=True, status="")

    def _in_flight(self):
        return self._results().filter(run__isnull=False, status="")

    def _submit(self, room: int) -> int:
        """Start up to ``room`` pending examples; stops early when the executor is full."""
        started = 0
        for result in self._pending().select_related("example", "version")[:room]:
            try:
                started += self._dispatch(result)
            except Unavailable:
                break  # the kernel is at capacity: try again after a run ends
        return started

    def _dispatch(self, result: EvaluationResult) -> bool:
        """Start a run of this version (not a tag), created as ``invocation.submit_run`` does.

        The run is linked to the result before it is dispatched, by a conditional update, so two
        drivers never run one example twice. ``Unavailable`` is raised before any run exists when
        the executor is full; a run the executor then refuses has ended ``failed`` and is recorded
        like any other."""
        evaluation = self.evaluation
        try:
            with dispatch.capacity():  # an exception gives the slot back
                with transaction.atomic():
                    run = Run.objects.create(
                        skill=evaluation.skill,
                        version=result.version,
                        tag="",
                        caller=evaluation.created_by,
                        mode=Run.ASYNC,
                        input=json.dumps(result.example.input, ensure_ascii=False),
                        **_holder(),
                    )
                    linked = EvaluationResult.objects.filter(
                        pk=result.pk, run__isnull=True, status=""
                    ).update(run=run)
                    if not linked:
                        raise _AlreadyStarted
                try:
                    handle = dispatch.dispatch(run)
                except Unavailable:
                    return True
        except _AlreadyStarted:  # another driver started this example; the run was rolled back
            return False
        if isinstance(handle, Future):
            self.futures[run.pk] = handle
        elif handle is not None:
            self.channels[run.pk] = handle
        return True

    def _wait(self) -> None:
        """Until a run ends, or a second: its future (embedded), its ``done`` notice on the run
        channel (distributed), else a look at the database after IDLE_SECONDS (a run of an
        earlier driver; a notice Redis lost is caught by the timeout)."""
        if self.futures:
            wait_futures(list(self.futures.values()), timeout=IDLE_SECONDS * 4, return_when=FIRST_COMPLETED)
            return
        process.release_connection()
        deadline = time.monotonic() + (IDLE_SECONDS * 4 if self.channels else IDLE_SECONDS)
        while time.monotonic() < deadline:
            for channel in self.channels.values():
                message = next(channel.messages(0), None)
                if message is not None and message.get("done"):
                    return
            time.sleep(MIN_POLL_SECONDS)

    def _record_ended(self) -> None:
        ended = (
            self._in_flight()
            .filter(run__status__in=Run.TERMINAL)
            .select_related("run__skill__namespace", "example", "version")
        )
        for result in ended:
            record(result, self.configs)
            self.futures.pop(result.run_id, None)
            if (channel := self.channels.pop(result.run_id, None)) is not None:
                channel.close()
        for run_id in [run_id for run_id, future in self.futures.items() if future.done()]:
            if not self._in_flight().filter(run_id=run_id).exists():
                self.futures.pop(run_id, None)

    def _stop(self) -> None:
        """Cancelled: runs still going (one may have started as the cancel came) are cancelled,
        what ended is recorded, and examples never started are marked cancelled."""
        for run_id in list(
            self._in_flight().exclude(run__status__in=Run.TERMINAL).values_list("run_id", flat=True)
        ):
            try:
                cancellation.cancel_run(self.evaluation.created_by, run_id)
            except KernelError:
                pass  # it ended meanwhile
        self._record_ended()
        self._results().filter(status="").update(status=Run.CANCELLED)

    def _finish(self) -> None:
        Evaluation.objects.filter(pk=self.evaluation.pk, status=Evaluation.RUNNING).update(
            status=Evaluation.FINISHED, finished_at=timezone.now()
        )

    def _rescore_traced(self) -> None:
        """Evaluators reading traces score again once this process has written its spans."""
        traced = [c for c in self.configs if evaluators.REGISTRY[c["name"]].needs_trace]
        if not traced:
            return
        telemetry.flush()
        if process.is_distributed():
            time.sleep(settings.TRACE_DB_FLUSH_SECONDS * 2)  # workers write their spans in batches
        results = (
            self._results()
            .exclude(run__isnull=True)
            .select_related("run__skill__namespace", "example", "version")
        )
        for result in results:
            if result.run.is_terminal:
                rescore(result, traced)


def case_of(result: EvaluationResult) -> evaluators.Case:
    run = result.run
    output = None
    if run.status == Run.SUCCEEDED and run.output:
        try:
            output = json.loads(run.output)
        except ValueError:
            output = run.output
    return evaluators.Case(result.example.input, result.example.expected, run, result.version, output)


def record(result: EvaluationResult, configs: list[dict[str, Any]]) -> None:
    """Store the run's final status and every evaluator's score (once: a second call is a no-op)."""
    case = case_of(result)
    scores = {evaluators.key_of(config): evaluators.score(config, case).as_dict() for config in configs}
    EvaluationResult.objects.filter(pk=result.pk, status="").update(status=result.run.status, scores=scores)


def rescore(result: EvaluationResult, configs: list[dict[str, Any]]) -> None:
    case = case_of(result)
    scores = dict(result.scores)
    for config in configs:
        scores[evaluators.key_of(config)] = evaluators.score(config, case).as_dict()
    EvaluationResult.objects.filter(pk=result.pk).update(scores=scores)


def evaluations_for(user, skill=None):
    visible = Evaluation.objects.filter(skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW))
    if skill is not None:
        visible = visible.filter(skill=skill)
    return visible.select_related("skill__namespace", "dataset", "created_by")


def evaluation_for(user, evaluation_id: int) -> Evaluation:
    evaluation = evaluations_for(user).filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(f"evaluation '{evaluation_id}' does not exist")
    resume_if_stale(evaluation)
    return evaluation


def cancel_evaluation(user, evaluation_id: int) -> Evaluation:
    """Stop an evaluation: no new runs start and its queued and running runs are cancelled."""
    evaluation = evaluations_for(user).filter(pk=evaluation_id).first()
    if evaluation is None:
        raise NotFound(f"evaluation '{evaluation_id}' does not exist")
    access.namespace_for(user, evaluation.skill.namespace.name, NamespaceGrant.INVOKE)
    cancelled = Evaluation.objects.filter(
        pk=evaluation.pk, status__in=[Evaluation.QUEUED, Evaluation.RUNNING]
    ).update(status=Evaluation.CANCELLED, finished_at=timezone.now())
    evaluation.refresh_from_db()
    if not cancelled:
        raise Conflict(f"evaluation '{evaluation_id}' already ended {evaluation.status}")
    in_flight = EvaluationResult.objects.filter(
        evaluation=evaluation, status="", run__status__in=[Run.QUEUED, Run.RUNNING]
    ).values_list("run_id", flat=True)
    for run_id in list(in_flight):
        try:
            cancellation.cancel_run(user, run_id)
        except KernelError:
            pass  # it ended meanwhile
    if not _driver_alive(evaluation):  # nobody will record the rest: do it here
        finish_orphaned(evaluation)
    return evaluation


def _driver_alive(evaluation: Evaluation) -> bool:
    if not evaluation.heartbeat_at:
        return False
    age = (timezone.now() - evaluation.heartbeat_at).total_seconds()
    return age < settings.EVALUATION_STALE_SECONDS


def finish_orphaned(evaluation: Evaluation) -> None:
    """Record what ended and mark the rest cancelled, for an evaluation no driver holds."""
    results = EvaluationResult.objects.filter(evaluation=evaluation, status="")
    for result in results.filter(run__status__in=Run.TERMINAL).select_related(
        "run__skill__namespace", "example", "version"
    ):
        record(result, evaluation.evaluators)
    results.update(status=Run.CANCELLED)


def resume_if_stale(evaluation: Evaluation) -> bool:
    """Restart the driver of a queued or running evaluation nobody has driven for a while (its
    process died); of several readers, one wins the restart (a conditional update)."""
    if not _claim_stale(evaluation):
        return False
    log.warning("evaluation %s has no live driver; resuming it", evaluation.pk)
    start(evaluation.pk)
    return True


def _claim_stale(evaluation: Evaluation) -> bool:
    if evaluation.is_terminal:
        return False
    stale = timezone.now() - timedelta(seconds=settings.EVALUATION_STALE_SECONDS)
    if (evaluation.heartbeat_at or evaluation.created_at) >= stale:
        return False
    return bool(
        Evaluation.objects.filter(
            pk=evaluation.pk, status=evaluation.status, heartbeat_at=evaluation.heartbeat_at
        ).update(heartbeat_at=timezone.now())
    )


def claim_stale() -> list[int]:
    """The evaluations without a live driver, claimed for restarting (``manage.py resume_evaluations``)."""
    return [e.pk for e in Evaluation.objects.exclude(status__in=Evaluation.TERMINAL) if _claim_stale(e)]


def progress(evaluation: Evaluation) -> dict[str, Any]:
    """Counts for the live progress bar: done, in flight, pending, by final status."""
    from django.db.models import Count

    by_status = dict(
        EvaluationResult.objects.filter(evaluation=evaluation)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    in_flight = EvaluationResult.objects.filter(evaluation=evaluation, status="", run__isnull=False).count()
    pending = by_status.pop("", 0) - in_flight
    done = sum(by_status.values())
    return {
        "id": evaluation.pk,
        "status": evaluation.status,
        "total": evaluation.total,
        "done": done,
        "in_flight": in_flight,
        "pending": pending,
        "by_status": by_status,
        "percent": round(100 * done / evaluation.total, 1) if evaluation.total else 100.0,
        "error_message": evaluation.error_message,
        "started_at": evaluation.started_at.isoformat() if evaluation.started_at else None,
        "finished_at": evaluation.finished_at.isoformat() if evaluation.finished_at else None,
    }


def dataset_or_404(user, namespace: str, skill_name: str, dataset_name: str) -> Dataset:
    skill = skill_for(user, namespace, skill_name)
    dataset = (
        Dataset.objects.filter(skill=skill, name=dataset_name).select_related("skill__namespace").first()
    )
    if dataset is None:
        raise NotFound(f"dataset '{dataset_name}' of {skill} does not exist")
    return dataset
