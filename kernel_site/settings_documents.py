"""Settings of the documents app (filled in as it grows)."""
