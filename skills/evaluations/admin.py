"""The admin of datasets (upload as JSONL or CSV, errors per line), evaluations and promotions."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from skills.evaluations import datasets, runner
from skills.evaluations.models import Dataset, Evaluation, Promotion
from skills.models import NamespaceGrant, Skill
from skills.services import access
from skills.services.errors import KernelError


class DatasetAdminForm(forms.ModelForm):
    file = forms.FileField(
        required=False, help_text="JSONL or CSV; every input is checked against the skill's input schema"
    )

    class Meta:
        model = Dataset
        fields = ["skill", "name", "description"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if "skill" in self.fields and user is not None:
            self.fields["skill"].queryset = Skill.objects.filter(
                namespace__in=access.namespaces_for(user, NamespaceGrant.INVOKE)
            ).select_related("namespace")
        self.examples: list[datasets.ParsedExample] | None = None

    def clean(self):
        data = super().clean()
        upload, skill = data.get("file"), data.get("skill")
        if self.instance.pk is None and not upload:
            self.add_error("file", "Upload the examples (JSONL or CSV).")
        if upload and skill:
            try:
                self.examples = datasets.validated(
                    skill, upload.read(), datasets.format_of(upload.name, upload.content_type or "")
                )
            except datasets.DatasetRejected as error:
                lines = [f"line {e.line}: {e.message}" for e in error.errors[:50]]
                raise forms.ValidationError([error.message.split(":")[0] + ":", *lines]) from None
            except KernelError as error:
                self.add_error("file", error.message)
        return data


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    form = DatasetAdminForm
    list_display = ["name", "skill", "examples", "created_by", "created_at", "page"]
    list_filter = ["skill__namespace"]
    search_fields = ["name", "skill__name", "description"]
    readonly_fields = ["created_by", "created_at"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)

        class WithUser(form):
            def __init__(self, *args, **inner):
                super().__init__(*args, user=request.user, **inner)

        return WithUser

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "skill"] if obj is not None else self.readonly_fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("skill__namespace", "created_by")
            .annotate(example_count=Count("examples"))
        )

    @admin.display(description="examples", ordering="example_count")
    def examples(self, dataset):
        return dataset.example_count

    @admin.display(description="catalogue")
    def page(self, dataset):
        return format_html('<a href="{}">open</a>', reverse("evaluations-dataset", args=[dataset.pk]))

    def save_model(self, request, obj, form, change):
        """A new upload replaces the examples (refused while evaluations use the dataset)."""
        if not change:
            obj.created_by = request.user
        if change and form.examples is not None and obj.evaluations.exists():
            messages.error(
                request, "The dataset has evaluations: its examples were kept; upload a new dataset."
            )
            form.examples = None
        super().save_model(request, obj, form, change)
        if form.examples is not None:
            obj.examples.all().delete()
            datasets.store_examples(obj, form.examples)


@admin.register(Evaluation)
class EvaluationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "skill",
        "dataset",
        "status",
        "total",
        "concurrency",
        "created_by",
        "created_at",
        "page",
    ]
    list_filter = ["status", "skill__namespace"]
    readonly_fields = [
        "dataset", "skill", "versions", "evaluators", "concurrency", "status", "error_message", "total",
        "created_by", "created_at", "started_at", "finished_at", "driver", "heartbeat_at",
    ]  # fmt: skip
    actions = ["cancel"]

    def has_add_permission(self, request):
        return False  # started from the catalogue or the API, where versions and evaluators are chosen

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("skill__namespace", "dataset", "created_by")

    @admin.display(description="catalogue")
    def page(self, evaluation):
        return format_html('<a href="{}">results</a>', reverse("evaluations-detail", args=[evaluation.pk]))

    @admin.action(description="Cancel selected evaluations")
    def cancel(self, request, queryset):
        cancelled = 0
        for evaluation in queryset:
            try:
                runner.cancel_evaluation(request.user, evaluation.pk)
                cancelled += 1
            except KernelError as error:
                messages.warning(request, f"#{evaluation.pk}: {error.message}")
        if cancelled:
            messages.success(request, f"Cancelled {cancelled} evaluation(s).")


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["skill", "tag", "version", "previous_version", "evaluation", "promoted_by", "promoted_at"]
    list_filter = ["skill__namespace", "tag"]
    readonly_fields = [
        "evaluation",
        "skill",
        "tag",
        "version",
        "previous_version",
        "promoted_by",
        "promoted_at",
    ]

    def has_add_permission(self, request):
        return False  # promoted from an evaluation's page, so the evidence is always recorded
