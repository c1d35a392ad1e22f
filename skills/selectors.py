"""Reads: what a user may see."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import groupby

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import TruncHour
from django.utils import timezone

from skills.models import NamespaceGrant, Run, Skill, SkillVersion, Span, Tag
from skills.services import access, registry
from skills.services.errors import NotFound


def invocable_skills(user, skill_type: str | None = None) -> QuerySet[Skill]:
    """Active, tagged skills in namespaces where ``user`` may view, optionally of one type."""
    skills = (
        Skill.objects.filter(
            namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW),
            is_active=True,
            tags__name=registry.DEFAULT_TAG,
        )
        .select_related("namespace")
        .distinct()
    )
    if skill_type == Skill.CHAT:
        skills = skills.filter(tags__version__world="message-stream-skill")
    elif skill_type == Skill.PROGRAMMABLE:
        skills = skills.filter(tags__version__world="skill")
    return skills


def version_for(user, namespace_name: str, skill_name: str, tag: str) -> SkillVersion:
    namespace = access.namespace_for(user, namespace_name, NamespaceGrant.VIEW)
    _, version = registry.resolve(namespace, skill_name, tag)
    return version


def run_for(user, run_id) -> Run:
    run = (
        Run.objects.select_related("skill__namespace", "version")
        .filter(pk=run_id, skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW))
        .first()
    )
    if run is None:
        raise NotFound(f"run '{run_id}' does not exist")
    return run


# -- Catalogue reads ----------------------------------------------------------------------------


@dataclass
class LatencyStats:
    runs: int
    p50: float | None
    p95: float | None


@dataclass
class RunFilters:
    namespace: str = ""
    skill: str = ""
    version: str = ""
    status: str = ""
    caller: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass
class RunPage:
    runs: list[Run]
    next_cursor: str | None


class _PercentileCont(Aggregate):
    """PostgreSQL's ordered-set aggregate ``percentile_cont(f) WITHIN GROUP (ORDER BY x)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks: the same answer as PostgreSQL's percentile_cont."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def catalogue_skills(user, *, query: str = "", namespace: str = "", skill_type: str = "") -> list[Skill]:
    """Active skills the user may view, with their ``latest`` version, tags and 24 h run figures.

    ``query`` matches every word against the namespace, the name and the latest description.
    """
    skills = Skill.objects.filter(
        namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW), is_active=True
    ).select_related("namespace")
    if namespace:
        skills = skills.filter(namespace__name=namespace)
    for word in query.split():
        skills = skills.filter(
            Q(name__icontains=word)
            | Q(namespace__name__icontains=word)
            | Q(versions__description__icontains=word, versions__tags__name=registry.DEFAULT_TAG)
        )
    since = timezone.now() - timedelta(hours=24)
    last_status = Run.objects.filter(skill=OuterRef("pk")).order_by("-queued_at").values("status")[:1]
    skills = skills.annotate(
        version_count=Count("versions", filter=Q(versions__status=SkillVersion.READY), distinct=True),
        last_status=Subquery(last_status),
    ).distinct()
    skills = list(skills.prefetch_related(Prefetch("tags", queryset=Tag.objects.select_related("version"))))
    runs = dict(
        Run.objects.filter(skill__in=[s.pk for s in skills], queued_at__gte=since)
        .values_list("skill")
        .annotate(n=Count("id"))
        .values_list("skill", "n")
    )
    latency = latency_by_skill([s.pk for s in skills], since)
    kept = []
    for skill in skills:
        tags = {tag.name: tag.version for tag in skill.tags.all()}
        skill.latest = tags.get(registry.DEFAULT_TAG) or next(iter(tags.values()), None)
        skill.tag_names = sorted(tags)
        skill.runs_24h = runs.get(skill.pk, 0)
        skill.latency = latency.get(skill.pk, LatencyStats(0, None, None))
        skill.skill_type = skill.latest.skill_type if skill.latest else ""
        if skill_type and skill.skill_type != skill_type:
            continue
        kept.append(skill)
    return kept


def latency_by_skill(skill_ids: list[int], since: datetime) -> dict[int, LatencyStats]:
    """p50/p95 of ``duration_ms`` of finished runs per skill since ``since``.

    PostgreSQL computes them in one grouped query; elsewhere (SQLite) the durations stream sorted
    from the database, one float per run, and are reduced here: portable and linear in the window.
    """
    runs = Run.objects.filter(skill__in=skill_ids, queued_at__gte=since, duration_ms__isnull=False)
    if connection.vendor == "postgresql":
        rows = runs.values("skill").annotate(
            n=Count("id"), p50=_PercentileCont("duration_ms", 0.5), p95=_PercentileCont("duration_ms", 0.95)
        )
        return {row["skill"]: LatencyStats(row["n"], row["p50"], row["p95"]) for row in rows}
    stats: dict[int, LatencyStats] = {}
    rows = runs.order_by("skill", "duration_ms").values_list("skill", "duration_ms")
    for skill_id, group in groupby(rows.iterator(chunk_size=5000), key=lambda row: row[0]):
        values = [duration for _, duration in group]
        stats[skill_id] = LatencyStats(len(values), percentile(values, 0.5), percentile(values, 0.95))
    return stats


def skill_for(user, namespace_name: str, skill_name: str) -> Skill:
    """An active skill in a namespace the user may view (404 otherwise), with tags and versions."""
    skill = (
        Skill.objects.select_related("namespace")
        .filter(
            namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW),
            namespace__name=namespace_name,
            name=skill_name,
            is_active=True,
        )
        .first()
    )
    if skill is None:
        raise NotFound(f"skill '{namespace_name}/{skill_name}' does not exist")
    return skill


def versions_of(skill: Skill) -> list[SkillVersion]:
    """Every version, newest first, each with ``tag_names``."""
    versions = list(
        skill.versions.select_related("created_by").prefetch_related("tags").order_by("-created_at")
    )
    for version in versions:
        version.tag_names = sorted(tag.name for tag in version.tags.all())
    return versions


def runs_for(user, filters: RunFilters, *, cursor: str = "", limit: int = 50) -> RunPage:
    """One page of runs, newest first, by keyset on (queued_at, id): no COUNT, no OFFSET.

    The cursor is the position of the last run of the previous page; each page costs one query
    that walks an index on ``queued_at`` (alone or after skill, status or caller).
    """
    runs = Run.objects.filter(skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW))
    if filters.namespace:
        runs = runs.filter(skill__namespace__name=filters.namespace)
    if filters.skill:
        namespace, _, name = filters.skill.rpartition("/")
        runs = runs.filter(skill__name=name)
        if namespace:
            runs = runs.filter(skill__namespace__name=namespace)
    if filters.version:
        runs = runs.filter(version__digest__startswith=filters.version.removeprefix("sha256:"))
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.caller:
        runs = runs.filter(caller__username=filters.caller)
    if filters.since:
        runs = runs.filter(queued_at__gte=filters.since)
    if filters.until:
        runs = runs.filter(queued_at__lt=filters.until)
    position = _decode_cursor(cursor)
    if position:
        at, run_id = position
        runs = runs.filter(Q(queued_at__lt=at) | Q(queued_at=at, id__lt=run_id))
    page = list(
        runs.select_related("skill__namespace", "version", "caller")
        .defer("input", "output", "items", "error_message")
        .order_by("-queued_at", "-id")[: limit + 1]
    )
    next_cursor = None
    if len(page) > limit:
        page = page[:limit]
        next_cursor = f"{page[-1].queued_at.isoformat()}~{page[-1].id}"
    return RunPage(page, next_cursor)


def _decode_cursor(cursor: str):
    try:
        at, run_id = cursor.split("~", 1)
        return datetime.fromisoformat(at), uuid.UUID(run_id)
    except ValueError:
        return None


def runs_per_hour(user, *, hours: int = 24, skill: Skill | None = None) -> list[dict]:
    """``[{"hour": datetime, "status": str, "n": int}, ...]`` for the last ``hours`` hours."""
    since = timezone.now() - timedelta(hours=hours)
    runs = Run.objects.filter(
        skill__namespace__in=access.namespaces_for(user, NamespaceGrant.VIEW), queued_at__gte=since
    )
    if skill is not None:
        runs = runs.filter(skill=skill)
    return list(
        runs.annotate(hour=TruncHour("queued_at"))
        .values("hour", "status")
        .annotate(n=Count("id"))
        .order_by("hour", "status")
    )


def spans_of(run: Run) -> list[Span]:
    return list(run.spans.order_by("start_time", "id"))
