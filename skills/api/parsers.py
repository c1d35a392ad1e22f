"""The one request parser of the API: JSON as strictly as the skill input (``invocation.parse_json``).

DRF's own parser recurses into JSON nested 100,000 levels deep (a RecursionError, a 500) and reads
forms too; this one answers 400 for anything but JSON within ``SKILL_MAX_INPUT_DEPTH`` levels and
415 for another content type.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers

from skills.services import invocation


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        return invocation.parse_json(stream.read() if stream is not None else b"")
