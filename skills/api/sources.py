"""``POST /v1/namespaces/{namespace}/sync``: sync a GitOps namespace now, e.g. from the CI job
that just ran ``pharia-skill publish``, instead of waiting for the next poll.

Needs the deploy role in the namespace. Answers what the sync changed::

    {"namespace": "team", "changes": ["updated greet (...)"], "errors": [], "skipped": ""}

200 when it applied (``errors`` lists skills that failed on their own and kept their previous
version), 502 when the source as a whole failed (nothing applied, the last good state keeps
serving; ``errors`` says why), 409 when another process is syncing the namespace right now, 404
without a source.
"""

from __future__ import annotations

from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from skills.models import NamespaceGrant, NamespaceSource
from skills.services import access
from skills.services.errors import NotFound
from skills.sources import poller, sync


@api_view(["POST"])
def sync_namespace(request: Request, namespace: str) -> Response:
    poller.apply_config()  # a namespace just added to NAMESPACES_CONFIG can be synced at once
    found = access.namespace_for(request.user, namespace, NamespaceGrant.DEPLOY)
    source = NamespaceSource.objects.filter(namespace=found, enabled=True).first()
    if source is None:
        raise NotFound(f"namespace '{namespace}' has no enabled source to sync")
    report = sync.sync_source(source.pk)
    status = 409 if report.skipped else 200 if report.applied else 502
    body = {
        "namespace": report.namespace,
        "changes": report.changes,
        "errors": report.errors,
        "skipped": report.skipped,
    }
    return Response(body, status=status)
