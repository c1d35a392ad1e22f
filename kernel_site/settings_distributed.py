"""Settings of the distributed area, read from the environment; imported by kernel_site.settings.

``CELERY_BROKER_URL`` (in settings.py) switches execution to Celery workers; everything here has a
default that suits both modes. The README's "Scale out" section lists these with their meaning.
"""

import os

from kernel_site.env import envfloat, envint, envstr

# Redis for the per-run channel (stream items, "run finished" notices); default: the broker URL.
SKILL_REDIS_URL = envstr("SKILL_REDIS_URL", "") or (
    os.environ.get("CELERY_BROKER_URL", "")
    if os.environ.get("CELERY_BROKER_URL", "").startswith("redis")
    else ""
)
# Threads per Celery worker process (--pool threads); a run waiting on inference holds one. Default 64.
SKILL_WORKER_THREADS = envint("SKILL_WORKER_THREADS", 64)
# A worker's running runs write heartbeat_at this often (seconds); cancellation is noticed as often. 1.
SKILL_HEARTBEAT_SECONDS = envfloat("SKILL_HEARTBEAT_SECONDS", 1.0)
# A running run whose heartbeat is older than this (seconds) belongs to a lost worker. Default 15.
SKILL_LOST_AFTER_SECONDS = envfloat("SKILL_LOST_AFTER_SECONDS", 15.0)
# How often each worker's reaper looks for lost runs (seconds). Default 5.
SKILL_REAPER_SECONDS = envfloat("SKILL_REAPER_SECONDS", 5.0)
# Executions a run gets: 2 retries a run lost with its worker once, then it fails `worker_lost`.
SKILL_MAX_ATTEMPTS = envint("SKILL_MAX_ATTEMPTS", 2)
# Default for Namespace.max_concurrent_runs (queued + running runs per namespace); 0 = no limit.
SKILL_NAMESPACE_MAX_RUNS = envint("SKILL_NAMESPACE_MAX_RUNS", 0)
# Distributed mode: queued runs across the cluster before submissions get 503. Default 2000.
SKILL_MAX_QUEUED_RUNS = envint("SKILL_MAX_QUEUED_RUNS", 2000)
# Retry-After (seconds) sent with 429 and 503 answers of the back-pressure limits. Default 1.
SKILL_RETRY_AFTER_SECONDS = envint("SKILL_RETRY_AFTER_SECONDS", 1)
# How long a worker keeps retrying the final write of a run while the database is away. Default 300.
SKILL_FINISH_RETRY_SECONDS = envfloat("SKILL_FINISH_RETRY_SECONDS", 300.0)
# Seconds before an unacknowledged task (its worker died) is handed to another worker. Default 120.
SKILL_VISIBILITY_TIMEOUT = envint("SKILL_VISIBILITY_TIMEOUT", 120)

CELERY_TASK_IGNORE_RESULT = True  # results live on the Run row, not in a result backend
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = SKILL_WORKER_THREADS
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Fail fast at submit time when the broker is down: the caller gets 503, the run ends `unavailable`.
CELERY_BROKER_CONNECTION_TIMEOUT = envfloat("CELERY_BROKER_CONNECTION_TIMEOUT", 2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Redis connections per process, for the broker and for publishing run notices. Default 1024.
SKILL_REDIS_MAX_CONNECTIONS = envint("SKILL_REDIS_MAX_CONNECTIONS", 1024)
CELERY_BROKER_POOL_LIMIT = SKILL_REDIS_MAX_CONNECTIONS
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": SKILL_VISIBILITY_TIMEOUT,
    "max_connections": SKILL_REDIS_MAX_CONNECTIONS,
    "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
    "socket_timeout": 10,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_SEND_TASK_EVENTS = False
