"""Forms of the catalogue: the run history's filters and the login page."""

from __future__ import annotations

from django import forms

from skills import selectors
from skills.models import NamespaceGrant, Run
from skills.services import access


class RunFilterForm(forms.Form):
    namespace = forms.ChoiceField(required=False)
    skill = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "namespace/name"}))
    version = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "digest prefix"}))
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Run.STATUSES])
    caller = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "username"}))
    since = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="From"
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), label="To"
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = access.namespaces_for(user, NamespaceGrant.VIEW).values_list("name", flat=True)
        self.fields["namespace"].choices = [("", "all namespaces"), *((n, n) for n in names)]

    def filters(self) -> selectors.RunFilters:
        data = self.cleaned_data
        return selectors.RunFilters(
            namespace=data["namespace"] or "",
            skill=data["skill"].strip(),
            version=data["version"].strip(),
            status=data["status"] or "",
            caller=data["caller"].strip(),
            since=data["since"],
            until=data["until"],
        )
