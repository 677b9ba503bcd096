"""The README shows the apps: at least two screenshots, each a PNG in docs/screenshots/ (copied from a run's
.build/browser-artefacts/)."""
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_the_readme_shows_two_screenshots_that_exist():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        shown = re.findall(r"!\[[^\]]+\]\((docs/screenshots/[\w.-]+\.png)\)", file.read())
    assert len(set(shown)) >= 2, shown
    for path in shown:
        with open(os.path.join(ROOT, path), "rb") as image:
            assert image.read(8) == b"\x89PNG\r\n\x1a\n", path
