"""Admin for GitOps namespace sources: where each namespace's skills come from, the state of the
last sync (and its error), and a "Sync now" action. Imported at the end of ``skills/admin.py``.

"Sync now" runs each sync in a thread (a sync compiles new components: seconds) and opens a page
that polls the sources' state (skills/static/skills/sync.js), as the upload page does.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from datetime import UTC, datetime

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import close_old_connections
from django.http import JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from skills.models import NamespaceSource
from skills.sources import sync

# job id -> {source id: SyncReport}, for the lines of the syncs this process ran (the state itself
# is read from the database, so a page polling another web process still sees it finish).
_REPORTS: OrderedDict[str, dict[int, sync.SyncReport]] = OrderedDict()
_REPORTS_KEPT = 100
_lock = threading.Lock()


def _sync_in_background(job: str, source_ids: list[int]) -> None:
    with _lock:
        _REPORTS[job] = {}
        while len(_REPORTS) > _REPORTS_KEPT:
            _REPORTS.popitem(last=False)

    def work(source_id: int) -> None:
        try:
            report = sync.sync_source(source_id)
            with _lock:
                _REPORTS.get(job, {})[source_id] = report
        finally:
            close_old_connections()

    for source_id in source_ids:
        threading.Thread(target=work, args=(source_id,), name=f"sync-{source_id}", daemon=True).start()


def sync_state(source: NamespaceSource, since: datetime, report: sync.SyncReport | None) -> dict:
    """Where the sync asked for at ``since`` stands: queued, syncing, or done (ok, failing, skipped)."""
    now = timezone.now()
    state = {
        "id": source.pk,
        "namespace": source.namespace.name,
        "change_url": reverse("admin:skills_namespacesource_change", args=[source.pk]),
        "lines": report.lines() if report else [],
        "skills": len((source.applied or {}).get("skills", {})),
        "error": source.last_error,
        "seconds": None,
        "done": True,
    }
    if not source.enabled:
        return {**state, "state": "disabled", "summary": "disabled: not synced"}
    if report is not None and report.skipped:
        return {**state, "state": "skipped", "summary": f"skipped: {report.skipped}"}
    if report is None and source.syncing_until and source.syncing_until > now:
        seconds = (now - source.last_attempt_at).total_seconds() if source.last_attempt_at else 0.0
        return {**state, "state": "syncing", "summary": "syncing…", "seconds": seconds, "done": False}
    if report is None and not (source.last_attempt_at and source.last_attempt_at >= since):
        return {**state, "state": "queued", "summary": "waiting to start…", "done": False}
    if source.last_error:
        return {**state, "state": "failing", "summary": f"failing ({source.consecutive_failures}×)"}
    return {**state, "state": "ok", "summary": f"ok, {state['skills']} skill(s)"}


@admin.register(NamespaceSource)
class NamespaceSourceAdmin(admin.ModelAdmin):
    list_display = ["namespace", "kind", "location", "enabled", "state", "last_success_at", "from_config"]
    list_filter = ["kind", "enabled", "from_config"]
    search_fields = ["namespace__name", "config_url", "git_repository", "registry", "directory"]
    actions = ["sync_now"]
    readonly_fields = [
        "state",
        "last_error",
        "last_attempt_at",
        "last_success_at",
        "last_error_at",
        "consecutive_failures",
        "applied",
    ]
    fieldsets = [
        (None, {"fields": ["namespace", "kind", "enabled", "from_config"]}),
        (
            "Namespace file",
            {
                "fields": ["config_url", "config_access_token", "git_repository", "git_branch", "git_path"],
                "description": "A path or http(s) URL, or a Git repository (branch + path).",
            },
        ),
        (
            "Where the file's skills are pulled from",
            {
                "fields": [
                    "registry",
                    "base_repository",
                    "registry_user",
                    "registry_password",
                    "registry_insecure",
                    "directory",
                ],
                "description": "An OCI registry (<code>{base-repository}/{skill}:{tag}</code>, as "
                "<code>pharia-skill publish</code> pushes), or a directory of <code>{skill}.wasm</code>. "
                "A watched directory uses the directory only.",
            },
        ),
        ("Last sync", {"fields": readonly_fields}),
    ]

    @admin.display(description="where")
    def location(self, source: NamespaceSource) -> str:
        if source.kind == NamespaceSource.DIRECTORY:
            return source.directory
        where = (
            f"{source.git_repository}@{source.git_branch}:{source.git_path}"
            if source.git_repository
            else source.config_url
        )
        return f"{where} → {source.registry or source.directory or '?'}"

    def get_urls(self):
        return [
            path("sync/", self.admin_site.admin_view(self.sync_view), name="skills_namespacesource_sync"),
            path(
                "sync/status/",
                self.admin_site.admin_view(self.sync_status_view),
                name="skills_namespacesource_sync_status",
            ),
        ] + super().get_urls()

    @admin.display(description="state")
    def state(self, source: NamespaceSource):
        if source.syncing_until and source.syncing_until > timezone.now():
            seconds = (
                (timezone.now() - source.last_attempt_at).total_seconds() if source.last_attempt_at else 0
            )
            return format_html(
                '<span class="status status-syncing">syncing… (since {} s)</span>', int(seconds)
            )
        if not source.last_attempt_at:
            return format_html('<span class="status status-never">not synced yet</span>')
        if source.last_error:
            return format_html(
                '<span class="status status-failing" title="{}">failing ({}×)</span> {}',
                source.last_error,
                source.consecutive_failures,
                source.last_error.splitlines()[0][:160],
            )
        skills = len((source.applied or {}).get("skills", {}))
        return format_html('<span class="status status-ok">ok</span> {} skill(s)', skills)

    @admin.action(description="Sync now")
    def sync_now(self, request, queryset):
        """Start the syncs and show their progress (the sync page polls ``sync_status_view``)."""
        ids = list(queryset.values_list("pk", flat=True))
        enabled = list(queryset.filter(enabled=True).values_list("pk", flat=True))
        job = uuid.uuid4().hex
        since = timezone.now().timestamp()
        _sync_in_background(job, enabled)
        query = f"ids={','.join(map(str, ids))}&job={job}&since={since:.6f}"
        return redirect(f"{reverse('admin:skills_namespacesource_sync')}?{query}")

    def _job(self, request) -> tuple[list[NamespaceSource], datetime, dict[int, sync.SyncReport]]:
        try:
            ids = [int(i) for i in request.GET.get("ids", "").split(",") if i]
            since = datetime.fromtimestamp(float(request.GET.get("since", "0")), tz=UTC)
        except ValueError:
            ids, since = [], timezone.now()
        sources = list(
            self.get_queryset(request)
            .filter(pk__in=ids)
            .select_related("namespace")
            .order_by("namespace__name")
        )
        with _lock:
            reports = dict(_REPORTS.get(request.GET.get("job", ""), {}))
        return sources, since, reports

    def sync_view(self, request):
        """The progress of the syncs just started; without JavaScript, reload the page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        sources, since, reports = self._job(request)
        context = {
            **self.admin_site.each_context(request),
            "title": "Syncing namespace sources",
            "opts": self.model._meta,
            "rows": [sync_state(source, since, reports.get(source.pk)) for source in sources],
            "status_url": f"{reverse('admin:skills_namespacesource_sync_status')}?{request.GET.urlencode()}",
            "changelist_url": reverse("admin:skills_namespacesource_changelist"),
        }
        return TemplateResponse(request, "admin/skills/namespacesource/sync.html", context)

    def sync_status_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        sources, since, reports = self._job(request)
        rows = [sync_state(source, since, reports.get(source.pk)) for source in sources]
        return JsonResponse({"sources": rows, "done": all(row["done"] for row in rows)})
