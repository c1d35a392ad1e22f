"""Settings of GitOps namespace sources (``skills.sources``); imported by kernel_site.settings."""

from kernel_site.env import envbool, envduration, envstr

# How long between two syncs of every namespace source (PhariaEngine's variable; default 10s).
NAMESPACE_UPDATE_INTERVAL = envduration("NAMESPACE_UPDATE_INTERVAL", "10s")
# Run the poller as a thread of the web process in the embedded default (distributed: celery beat).
NAMESPACE_POLLER = envbool("NAMESPACE_POLLER", True)
# A TOML file with PhariaEngine's `[namespaces.<name>]` tables; NAMESPACES__<NS>__<KEY> overrides.
NAMESPACES_CONFIG = envstr("NAMESPACES_CONFIG", "")
# A CA bundle (PEM) trusted for OCI registries besides the system's; empty for the system's only.
REGISTRY_CA_BUNDLE = envstr("REGISTRY_CA_BUNDLE", "")
# Serve a deployed version from a baseline (Winch) artifact first, then swap in Cranelift's.
SKILL_FAST_DEPLOY = envbool("SKILL_FAST_DEPLOY", True)

# Distributed mode: `celery -A kernel_site beat` sends the sync task on the same interval (a
# lease on each source keeps two syncs of one namespace from overlapping).
CELERY_BEAT_SCHEDULE = {
    "sync-namespaces": {"task": "skills.tasks.sync_namespaces", "schedule": NAMESPACE_UPDATE_INTERVAL},
}
