"""Skill Kernel settings. Every value comes from the environment; the README lists them all.

Nothing set gives the embedded default: SQLite, artifacts on local disk, in-process execution.
``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to PostgreSQL and Celery workers.
"""

from pathlib import Path

import dj_database_url

from kernel_site.env import envbool, envfloat, envint, envlist, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(envstr("SKILL_KERNEL_DATA", str(BASE_DIR / "var")))

# SECRET_KEY, HTTPS, cookies and the CSP: kernel_site/settings_security.py (production vs laptop).
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "skills",
    "skills.documents",
    "skills.evaluations",
    "catalogue",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kernel_site.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "skills.telemetry.TraceIdMiddleware",  # X-Trace-Id on every answer
]

ROOT_URLCONF = "kernel_site.urls"
WSGI_APPLICATION = "kernel_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'kernel.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web threads read while a run is being stored; wait rather than fail on locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    # A file, not memory: runs execute on other threads, which must see the test's rows.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-kernel.sqlite3")}
elif DATABASES["default"]["ENGINE"].endswith("postgresql") and envbool("DATABASE_POOL", True):
    # A psycopg pool per process: a Celery thread or web request borrows a connection for its
    # queries and gives it back while it waits (on a skill, on a worker), so hundreds of waiting
    # runs share a few connections and none pays for a new PostgreSQL backend per run.
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps the connections, not Django
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool checks a connection it lends out
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": envint("DATABASE_POOL_MIN_SIZE", 2),
        "max_size": envint("DATABASE_POOL_MAX_SIZE", 20),
        "timeout": envfloat("DATABASE_POOL_TIMEOUT", 10.0),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {
        "BACKEND": envstr("ARTIFACT_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": {"location": envstr("ARTIFACT_ROOT", str(DATA_DIR / "artifacts"))}
        if envstr("ARTIFACT_STORAGE_BACKEND", "") in ("", "django.core.files.storage.FileSystemStorage")
        else {},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["skills.api.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "skills.api.exceptions.handler",
    "UNAUTHENTICATED_USER": None,
}

LOGIN_URL = "/admin/login/"

# -- Skill execution ----------------------------------------------------------------------------
SKILL_TIMEOUT_SECONDS = envfloat("SKILL_TIMEOUT_SECONDS", 30.0)
SKILL_MEMORY_MB = envint("SKILL_MEMORY_MB", 512)
SKILL_MAX_INPUT_BYTES = envint("SKILL_MAX_INPUT_BYTES", 1024 * 1024)
SKILL_MAX_INPUT_DEPTH = envint("SKILL_MAX_INPUT_DEPTH", 512)  # JSON nesting levels
SKILL_VALIDATE_INPUT = envbool("SKILL_VALIDATE_INPUT", True)  # check input against the skill's schema
SKILL_EXECUTOR_THREADS = envint("SKILL_EXECUTOR_THREADS", 8)
SKILL_EXECUTOR_QUEUE = envint("SKILL_EXECUTOR_QUEUE", 64)
SKILL_CACHE_MB = envint("SKILL_CACHE_MB", 1024)
SKILL_CRANELIFT_OPT_LEVEL = envstr("SKILL_CRANELIFT_OPT_LEVEL", "speed")
# Instances: made ahead of runs and dropped after them off the run's thread (runtime/instances.py),
# in wasmtime's pooling allocator (slots kept resident). Measured: benchmarks/run_latency.py.
SKILL_SPARE_INSTANCES = envint("SKILL_SPARE_INSTANCES", 2)  # per recently run skill; 0: none
SKILL_SPARE_SKILLS = envint("SKILL_SPARE_SKILLS", 8)  # how many recently run skills keep spares
SKILL_POOLING = envbool("SKILL_POOLING", True)
# At start, tagged versions are loaded and given spares for up to this long before serving.
SKILL_PRELOAD = envbool("SKILL_PRELOAD", True)
SKILL_PRELOAD_SECONDS = envfloat("SKILL_PRELOAD_SECONDS", 10.0)
SKILL_POOL_INSTANCES = envint("SKILL_POOL_INSTANCES", 0)  # instances alive at once; 0: from the threads
SKILL_POOL_KEEP_RESIDENT_MB = envint("SKILL_POOL_KEEP_RESIDENT_MB", 64)
SKILL_POOL_WARM_SLOTS = envint("SKILL_POOL_WARM_SLOTS", 16)  # unused slots kept resident (RSS)
# How long a process may answer from its memory which version a tag names (see
# skills.services.registry.find_tagged); a change saved in the same process is seen at once.
SKILL_RESOLVE_CACHE_SECONDS = envfloat("SKILL_RESOLVE_CACHE_SECONDS", 1.0)
SKILL_SYNC_WAIT_SECONDS = envfloat("SKILL_SYNC_WAIT_SECONDS", 120.0)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(SKILL_MAX_INPUT_BYTES, 2_621_440)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# -- CSI backends -------------------------------------------------------------------------------
CHUNKING_FALLBACK_ENCODING = envstr("CHUNKING_FALLBACK_ENCODING", "") or None
LANGUAGE_LOW_ACCURACY = envbool("LANGUAGE_LOW_ACCURACY", False)
OPENAI_INFERENCE_URL = envstr("OPENAI_INFERENCE__URL", "")
OPENAI_INFERENCE_TOKEN = envstr("OPENAI_INFERENCE__TOKEN", "")
OPENAI_INFERENCE_TIMEOUT = envfloat("OPENAI_INFERENCE__TIMEOUT", 120.0)
OPENAI_INFERENCE_MODELS = envlist("OPENAI_INFERENCE__MODELS", "")
OPENAI_INFERENCE_MODEL_MAP = envstr("OPENAI_INFERENCE__MODEL_MAP", "")
DOCUMENT_INDEX_URL = envstr("DOCUMENT_INDEX__URL", "")
DOCUMENT_INDEX_TOKEN = envstr("DOCUMENT_INDEX__TOKEN", "")

# -- Celery (distributed mode) ----------------------------------------------------------------
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"

# LOG_FORMAT: plain (default) or json; records carry trace_id, span_id and run_id (skills/logging.py).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"trace": {"()": "skills.logging.TraceContextFilter"}},
    "formatters": {
        "plain": {
            "()": "skills.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "skills.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if envstr("LOG_FORMAT", "plain").lower() == "json" else "plain",
            "filters": ["trace"],
        }
    },
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# -- Areas with settings of their own (each file documents its variables) -----------------------
from kernel_site.settings_csi import *  # noqa: E402,F403
from kernel_site.settings_distributed import *  # noqa: E402,F403
from kernel_site.settings_documents import *  # noqa: E402,F403
from kernel_site.settings_evaluations import *  # noqa: E402,F403
from kernel_site.settings_limits import *  # noqa: E402,F403
from kernel_site.settings_security import *  # noqa: E402,F403
from kernel_site.settings_sources import *  # noqa: E402,F403
from kernel_site.settings_telemetry import *  # noqa: E402,F403
from kernel_site.settings_ui import *  # noqa: E402,F403
