"""Skill execution, free of Django: compile, load, run and stream pharia:skill components."""

from runtime.csi import Csi
from runtime.engine import (
    CompiledSkill,
    EngineSettings,
    InvalidComponent,
    LoadedSkill,
    Runtime,
    SkillMetadata,
    digest,
)
from runtime.limits import Limits, OutputTooLarge
from runtime.outcome import ErrorKind, RunOutcome
from runtime.worlds import SKILL_WORLD, STREAM_WORLD

__all__ = [
    "SKILL_WORLD",
    "STREAM_WORLD",
    "CompiledSkill",
    "Csi",
    "EngineSettings",
    "ErrorKind",
    "InvalidComponent",
    "Limits",
    "LoadedSkill",
    "OutputTooLarge",
    "RunOutcome",
    "Runtime",
    "SkillMetadata",
    "digest",
]
