"""Language selection for the CSI with lingua: which of the requested languages is the text in?

Like the Pharia kernel, detection is restricted to the requested ISO 639-3 codes and uses a minimum
relative distance of 0.5, so text in none of them (or too short to tell) gives ``None``.

Accuracy mode, measured with lingua 2.1.1 on this machine (RSS growth, first call, later calls):

* high (default): ~35-45 MiB and ~0.2 s per language the first time it is asked for (models are
  loaded lazily per language and shared by all detectors of the process); eng+deu ~95 MiB / 0.5 s;
  all 75 languages ~890 MiB / 9 s. Later calls take ~0.05 ms (3 languages) to ~0.5 ms (75).
* low (``low_accuracy=True``): all 75 languages ~55 MiB / 0.33 s; later calls ~0.03-0.15 ms.

High accuracy is the default because the ``None`` answer depends on it: on short Django UI strings
restricted to eng/deu/fra, high mode answered ``None`` for 60% of texts in other languages, low mode
only for 14% (it picks a wrong requested language instead). Model loading holds the GIL, so the
process stalls for the load time once per language; choose low accuracy where that or the memory
matters more than rejecting unrequested languages.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from runtime.csi.types import InvalidCsiRequest, SelectLanguageRequest

__all__ = ["LinguaLanguage", "supported_languages"]

_BY_CODE: dict[str, Language] = {lang.iso_code_639_3.name.lower(): lang for lang in Language.all()}
MINIMUM_RELATIVE_DISTANCE = 0.5


def supported_languages() -> list[str]:
    """The ISO 639-3 codes ``select_language`` accepts, sorted."""
    return sorted(_BY_CODE)


class LinguaLanguage:
    """A :class:`~runtime.csi.LanguageBackend` backed by lingua; safe to share between threads."""

    def __init__(self, low_accuracy: bool = False, max_detectors: int = 256) -> None:
        self._low_accuracy = low_accuracy
        self._max_detectors = max_detectors
        self._detectors: OrderedDict[frozenset[Language], LanguageDetector] = OrderedDict()
        self._lock = threading.Lock()

    def select_language(self, requests: list[SelectLanguageRequest]) -> list[str | None]:
        return [self._select(request) for request in requests]

    def _select(self, request: SelectLanguageRequest) -> str | None:
        languages = frozenset(_language(code) for code in request.languages)
        if not languages or not request.text.strip():
            return None
        found = self._detector(languages).detect_language_of(request.text)
        return None if found is None else found.iso_code_639_3.name.lower()

    def _detector(self, languages: frozenset[Language]) -> LanguageDetector:
        # Building is cheap (models load lazily on first detection, shared process-wide), so the
        # lock is held only briefly; lingua synchronises its own model loading.
        with self._lock:
            detector = self._detectors.get(languages)
            if detector is not None:
                self._detectors.move_to_end(languages)
                return detector
            builder = LanguageDetectorBuilder.from_languages(*languages)
            builder = builder.with_minimum_relative_distance(MINIMUM_RELATIVE_DISTANCE)
            if self._low_accuracy:
                builder = builder.with_low_accuracy_mode()
            detector = self._detectors[languages] = builder.build()
            if len(self._detectors) > self._max_detectors:
                self._detectors.popitem(last=False)
            return detector


def _language(code: str) -> Language:
    language = _BY_CODE.get(code.lower()) if isinstance(code, str) else None
    if language is None:
        raise InvalidCsiRequest(
            f"unknown language code {code!r}: select_language takes ISO 639-3 codes such as "
            f"'eng', 'deu' or 'fra' (supported: {' '.join(supported_languages())})"
        )
    return language
