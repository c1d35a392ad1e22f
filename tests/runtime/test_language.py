"""LinguaLanguage: ISO 639-3 language selection restricted to the requested languages."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from runtime.csi import InvalidCsiRequest
from runtime.csi.language import LinguaLanguage, supported_languages
from runtime.csi.types import SelectLanguageRequest

ENGLISH = "A little bit is better than nothing, and the weather is lovely today."
GERMAN = "Ich spreche Deutsch nur ein bisschen, aber das Wetter ist heute schön."
FRENCH = "Je parle un peu français, et il fait très beau aujourd'hui."


@pytest.fixture(scope="module")
def backend() -> LinguaLanguage:
    return LinguaLanguage()


def select(backend: LinguaLanguage, text: str, *languages: str) -> str | None:
    return backend.select_language([SelectLanguageRequest(text, list(languages))])[0]


def test_detects_english_german_french(backend):
    requests = [SelectLanguageRequest(text, ["eng", "deu", "fra"]) for text in (ENGLISH, GERMAN, FRENCH)]
    assert backend.select_language(requests) == ["eng", "deu", "fra"]


def test_only_requested_languages_are_chosen(backend):
    assert select(backend, GERMAN, "deu", "eng") == "deu"
    assert select(backend, "Parlez-vous français?", "eng", "deu") is None
    assert select(backend, "Hello, how are you doing today?", "deu", "fra") is None
    assert select(backend, "Die Besprechung wird auf Freitag verschoben.", "eng", "fra") is None


def test_a_single_language_can_be_requested(backend):
    assert select(backend, ENGLISH, "eng") == "eng"


def test_codes_are_case_insensitive(backend):
    assert select(backend, FRENCH, "ENG", "Fra") == "fra"


@pytest.mark.parametrize("text", ["", "   ", "12345 !!!"])
def test_no_language_in_text_gives_none(backend, text):
    assert select(backend, text, "eng", "deu") is None


def test_no_requested_languages_gives_none(backend):
    assert select(backend, ENGLISH) is None


def test_unknown_code_names_it(backend):
    with pytest.raises(InvalidCsiRequest, match="'en'"):
        select(backend, ENGLISH, "eng", "en")
    with pytest.raises(InvalidCsiRequest, match="'klingon'"):
        select(backend, ENGLISH, "klingon")


def test_all_75_wit_languages_are_supported():
    assert len(supported_languages()) == 75
    assert {"eng", "deu", "fra", "zho", "nob", "nno", "lug"} <= set(supported_languages())


def test_low_accuracy_mode_detects_too():
    low = LinguaLanguage(low_accuracy=True)
    assert low.select_language([SelectLanguageRequest(t, ["eng", "deu"]) for t in (ENGLISH, GERMAN)]) == [
        "eng",
        "deu",
    ]


def test_concurrent_calls_agree(backend):
    requests = [
        SelectLanguageRequest(text, languages)
        for text in (ENGLISH, GERMAN, FRENCH, "")
        for languages in (["eng", "deu"], ["eng", "deu", "fra"], ["fra", "spa"], ["deu"])
    ]
    fresh = LinguaLanguage()  # detectors are built while the threads race
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: fresh.select_language(requests), range(32)))
    expected = backend.select_language(requests)
    assert expected[:3] == ["eng", "eng", None]
    assert all(result == expected for result in results)
