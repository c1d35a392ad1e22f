"""Settings of the evaluations area (datasets, evaluations), read from the environment."""

from kernel_site.env import envfloat, envint, envstr

# Most examples one dataset may hold. Default 10000.
EVALUATION_MAX_EXAMPLES = envint("EVALUATION_MAX_EXAMPLES", 10_000)
# Largest dataset upload (JSONL or CSV), in bytes. Default 20 MiB.
EVALUATION_MAX_UPLOAD_BYTES = envint("EVALUATION_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)
# Runs one evaluation keeps in flight at most (its own limit is chosen per evaluation). Default 32.
EVALUATION_MAX_CONCURRENCY = envint("EVALUATION_MAX_CONCURRENCY", 32)
# The model of the LLM judge when an evaluation names none. Default "" (the judge must name one).
EVALUATION_JUDGE_MODEL = envstr("EVALUATION_JUDGE_MODEL", "")
# A running evaluation whose driver has not reported for this long is resumed by the next reader
# of its status (its page, the API) or by `manage.py resume_evaluations`. Default 30.
EVALUATION_STALE_SECONDS = envfloat("EVALUATION_STALE_SECONDS", 30.0)
