"""Settings of the telemetry area, read from the environment; imported by kernel_site.settings."""

from kernel_site.env import envbool, envfloat, envint, envlist, envstr  # noqa: F401
