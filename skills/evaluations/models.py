"""Datasets of examples for a skill, evaluations of its versions over them, and promotions.

A dataset belongs to one skill (not a namespace): its examples are validated against that skill's
input schema, and an evaluation compares versions of that one skill. Every example an evaluation
runs is a normal ``skills.Run``; ``EvaluationResult`` links it and holds the evaluators' scores.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from skills.models import Run, Skill, SkillVersion, slug


class Dataset(models.Model):
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=63, validators=[slug])
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["skill", "name"], name="unique_dataset_name")]

    def __str__(self) -> str:
        return f"{self.skill}: {self.name}"


class Example(models.Model):
    """One line of an uploaded dataset: the skill's input, optionally what it should answer."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="examples")
    position = models.PositiveIntegerField(help_text="1-based, in upload order")
    input = models.JSONField()
    expected = models.JSONField(null=True, blank=True, help_text="The expected output, if known")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["dataset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "position"], name="unique_example_position")
        ]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.position}"


class Evaluation(models.Model):
    QUEUED, RUNNING, FINISHED, FAILED, CANCELLED = "queued", "running", "finished", "failed", "cancelled"
    STATUSES = [(s, s.title()) for s in (QUEUED, RUNNING, FINISHED, FAILED, CANCELLED)]
    TERMINAL = (FINISHED, FAILED, CANCELLED)

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="evaluations")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="evaluations")
    versions = models.ManyToManyField(SkillVersion, related_name="evaluations")
    evaluators = models.JSONField(
        default=list, help_text='[{"name": "exact_match", "options": {...}}, ...] (evaluators.py)'
    )
    concurrency = models.PositiveSmallIntegerField(default=4, help_text="Runs in flight at once")
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED, db_index=True)
    error_message = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0, help_text="Examples times versions")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    driver = models.CharField(max_length=200, blank=True, help_text="Host and process driving it")
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"evaluation {self.pk} of {self.skill} on {self.dataset.name} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class EvaluationResult(models.Model):
    """One example run by one version: the run, its final status and the evaluators' scores."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="results")
    example = models.ForeignKey(Example, on_delete=models.CASCADE, related_name="results")
    version = models.ForeignKey(SkillVersion, on_delete=models.CASCADE, related_name="evaluation_results")
    run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluation_results"
    )
    status = models.CharField(max_length=10, blank=True, help_text="The run's final status; empty until then")
    scores = models.JSONField(
        default=dict, blank=True, help_text='{evaluator key: {"value": ..., "passed": ..., "detail": ...}}'
    )

    class Meta:
        ordering = ["evaluation", "example__position", "version_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evaluation", "example", "version"], name="one_result_per_example_and_version"
            )
        ]
        indexes = [models.Index(fields=["evaluation", "status"], name="evaluation_result_status")]

    def __str__(self) -> str:
        return f"{self.evaluation_id}: #{self.example.position} @ {self.version.digest[:12]} ({self.status})"


class Promotion(models.Model):
    """A tag moved to a version from an evaluation's page: who, when and on what evidence."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.PROTECT, related_name="promotions")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="promotions")
    tag = models.CharField(max_length=63, validators=[slug])
    version = models.ForeignKey(SkillVersion, on_delete=models.CASCADE, related_name="promotions")
    previous_version = models.ForeignKey(
        SkillVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    promoted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    promoted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-promoted_at"]

    def __str__(self) -> str:
        return f"{self.skill}:{self.tag} -> {self.version.digest[:12]} (evaluation {self.evaluation_id})"
