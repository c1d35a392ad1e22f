"""Settings of the evaluations app (filled in as it grows)."""
