"""The kiosk's words exist in every language: the same keys in each strings file (en is the reference), none empty,
the same {placeholders}, and every key the page and its scripts name is in the table."""
import json
import os
import re

import pytest

WEB = os.path.join(os.path.dirname(__file__), "..", "..", "web", "kiosk")
LANGUAGES = ["en", "zh-Hant", "vi", "pt"]


def table(language):
    with open(os.path.join(WEB, "strings", f"{language}.json"), encoding="utf-8") as file:
        return json.load(file)


def test_one_strings_file_per_language_and_no_other():
    assert sorted(name[:-5] for name in os.listdir(os.path.join(WEB, "strings"))) == sorted(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES[1:])
def test_every_language_has_exactly_the_reference_keys(language):
    reference, words = table("en"), table(language)
    assert sorted(set(reference) - set(words)) == [], f"{language} lacks these keys"
    assert sorted(set(words) - set(reference)) == [], f"{language} has keys English does not"
    for key, text in words.items():
        assert text.strip(), f"{language}: {key} is empty"
        assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", reference[key])), \
            f"{language}: {key} has other placeholders than English"


def test_every_key_the_app_names_is_in_the_table():
    reference = table("en")
    used = set()
    with open(os.path.join(WEB, "index.html"), encoding="utf-8") as file:
        used |= set(re.findall(r'data-i18n(?:-label|-placeholder)?="([^"]+)"', file.read()))
    for script in ("kiosk.js", "liveness.js"):
        with open(os.path.join(WEB, script), encoding="utf-8") as file:
            text = file.read()
        used |= set(re.findall(r'\bt\("([^"]+)"', text))
        used |= set(re.findall(r'(?:status|readerStatus)\("([^"]+)"', text))
        used |= {f"problem.{code}" for code in re.findall(r'code: "(local\.[a-z-]+)"', text)}
    for prompt in ("turn-left", "turn-right", "look-up", "come-closer"):
        used.add(f"liveness.{prompt}")
    missing = sorted(key for key in used if key not in reference)
    assert missing == [], f"keys used but not in strings/en.json: {missing}"
    assert len(used) > 60
