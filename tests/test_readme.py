"""The README, the front door: its two commands, and screenshots that a script makes from the app (never by hand)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.browser.make_screenshots import PICKS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_the_readme_gives_the_two_commands():
    assert "pip install -r requirements.txt && streamlit run streamlit_app.py" in README
    assert "pip install -r requirements-dev.txt && python -m pytest" in README


def test_every_screenshot_is_made_by_the_script():
    shown = set(re.findall(r"docs/screenshots/([a-z0-9-]+)\.png", README))
    on_disk = {p.stem for p in (ROOT / "docs" / "screenshots").glob("*.png")}
    assert shown, "the README shows no screenshot"
    assert shown <= set(PICKS), f"not made by tests/browser/make_screenshots.py: {sorted(shown - set(PICKS))}"
    assert on_disk <= set(PICKS), f"left over, made by nothing: {sorted(on_disk - set(PICKS))}"
    assert shown <= on_disk, f"shown but missing: {sorted(shown - on_disk)}"
