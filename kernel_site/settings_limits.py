"""Settings of the limits area: how much one run may hand back. Imported by kernel_site.settings.

Time and memory limits (``SKILL_TIMEOUT_SECONDS``, ``SKILL_MEMORY_MB``) and the input limit stay in
settings.py; the README's Limits section explains them all.
"""

from kernel_site.env import envint

# Bytes of a skill run's output; more ends the run `output_too_large` (no output stored).
# wasmtime copies no value over ~2.67 MiB out of a skill, so more than that cannot be allowed. 2 MiB.
SKILL_MAX_OUTPUT_BYTES = envint("SKILL_MAX_OUTPUT_BYTES", 2 * 1024 * 1024)
# Items a message-stream run may write; the next one ends it `output_too_large`. 0 = no limit. 100000.
SKILL_MAX_STREAM_ITEMS = envint("SKILL_MAX_STREAM_ITEMS", 100_000)
# Bytes of those items as stored (JSON); the item passing it ends the run. 0 = no limit. 16 MiB.
SKILL_MAX_STREAM_BYTES = envint("SKILL_MAX_STREAM_BYTES", 16 * 1024 * 1024)
# Embedded mode: stream items buffered for a client that reads slower than the skill writes; a
# client that falls this far behind gets the rest from the stored run when it ends. Default 1000.
SKILL_STREAM_BUFFER_ITEMS = envint("SKILL_STREAM_BUFFER_ITEMS", 1000)
