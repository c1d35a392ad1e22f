"""Forms of the catalogue pages: dataset upload, a new evaluation (versions, evaluators, options)."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from skills.evaluations import evaluators
from skills.evaluations.models import Dataset
from skills.models import SkillVersion, slug


class DatasetUploadForm(forms.Form):
    name = forms.CharField(max_length=63, validators=[slug], help_text="lowercase letters, digits, - and _")
    file = forms.FileField(help_text="JSONL (one example per line) or CSV with a header row")
    description = forms.CharField(required=False, widget=forms.TextInput)
    replace = forms.BooleanField(required=False, label="Replace a dataset of this name")


def _option_value(text: str) -> Any:
    """An option typed in the form: JSON when it parses (numbers, objects), else the text."""
    text = text.strip()
    if text == "":
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


class EvaluationForm(forms.Form):
    """Evaluator fields are generated from the registry: ``use_<name>`` and ``<name>__<option>``."""

    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none())
    versions = forms.ModelMultipleChoiceField(
        queryset=SkillVersion.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    concurrency = forms.IntegerField(min_value=1, initial=4)

    def __init__(self, skill, *args, max_concurrency: int = 32, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dataset"].queryset = Dataset.objects.filter(skill=skill)
        self.fields["versions"].queryset = skill.versions.filter(status=SkillVersion.READY).order_by(
            "created_at"
        )
        self.fields["versions"].label_from_instance = lambda v: (
            f"{v.digest[:12]} ({v.created_at:%Y-%m-%d %H:%M})"
        )
        self.fields["concurrency"].max_value = max_concurrency
        self.fields["concurrency"].widget.attrs["max"] = max_concurrency
        for name, evaluator in evaluators.REGISTRY.items():
            self.fields[f"use_{name}"] = forms.BooleanField(required=False, label=evaluator.label)
            for option, help_text in evaluator.options.items():
                widget = (
                    forms.Textarea(attrs={"rows": 4}) if option in ("prompt", "schema") else forms.TextInput
                )
                initial = (
                    evaluators.DEFAULT_JUDGE_PROMPT if (name, option) == ("llm_judge", "prompt") else None
                )
                self.fields[f"{name}__{option}"] = forms.CharField(
                    required=False, label=option, help_text=help_text, widget=widget, initial=initial
                )

    def evaluator_groups(self):
        """(checkbox, option fields) per evaluator, for the template."""
        return [
            (self[f"use_{name}"], [self[f"{name}__{option}"] for option in evaluator.options])
            for name, evaluator in evaluators.REGISTRY.items()
        ]

    def evaluator_configs(self) -> list[dict[str, Any]]:
        configs = []
        for name, evaluator in evaluators.REGISTRY.items():
            if not self.cleaned_data.get(f"use_{name}"):
                continue
            options = {}
            for option in evaluator.options:
                raw = self.cleaned_data.get(f"{name}__{option}") or ""
                value = raw.strip() if option == "prompt" else _option_value(raw)
                if value not in (None, ""):
                    options[option] = value
            configs.append({"name": name, "options": options})
        return configs
