"""Forms of the catalogue: the run history's filters and the login page."""

from __future__ import annotations

from django import forms

from skills import selectors
from skills.models import NamespaceGrant, Run
from skills.services import access


def _utc_input() -> forms.DateTimeInput:
    return forms.DateTimeInput({"placeholder": "2026-12-03 13:05", "class": "when-input"}, "%Y-%m-%d %H:%M")


class RunFilterForm(forms.Form):
    namespace = forms.ChoiceField(required=False)
    skill = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "namespace/name"}))
    version = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "digest prefix"}))
    status = forms.ChoiceField(required=False, choices=[("", "any status"), *Run.STATUSES])
    caller = forms.CharField(required=False, widget=forms.TextInput(attrs={"placeholder": "username"}))
    # Plain text in the format the pages show, not type=datetime-local: that renders in the
    # browser's locale (mm/dd/yyyy, hh:mm AM) and hides that the times are UTC.
    since = forms.DateTimeField(required=False, widget=_utc_input(), label="From (UTC)")
    until = forms.DateTimeField(required=False, widget=_utc_input(), label="To (UTC)")

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
