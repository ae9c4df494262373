"""Community Cloud's entrypoint (`cloud/streamlit_app.py`) and its requirements file (`cloud/requirements.txt`).

The entrypoint runs the same router from another folder, so every page path, link and page switch must resolve
from there: the app is driven through it with AppTest (the quick start, a lesson's button that switches page, the
walk-through). The requirements file must pin torch's CPU build from PyTorch's index and take the rest from the root
file, while no root file names that index (this machine and CI cannot reach it).
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.requirements import Requirement
from streamlit.testing.v1 import AppTest

from tests import app_harness
from tests.app_harness import errors
from tests.test_page_lessons import TINY as LESSON  # a three-step lesson whose preset trains in a second

REPO = Path(__file__).resolve().parents[1]
CLOUD = REPO / "cloud"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
jobs = app_harness.jobs
app_dirs = app_harness.app_dirs


def cloud_app(**params) -> AppTest:
    at = AppTest.from_file(str(CLOUD / "streamlit_app.py"), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def test_the_cloud_entrypoint_serves_every_page_and_its_links(app_dirs, jobs):
    at = cloud_app()
    assert not errors(at), errors(at)  # Home's page links resolve (a missing page raises StreamlitPageNotFoundError)
    assert at.title[0].value.startswith("nnlab")
    at.button(key="home_quick").click().run()
    assert not errors(at), errors(at)
    run_id = at.session_state["app_run"]
    assert run_id.startswith("quickstart-moons")
    for page in ("walkthrough", "boundary", "weights", "train", "runs", "lessons"):
        at.switch_page(str(REPO / "app_pages" / f"{page}.py")).run()
        assert not errors(at), (page, errors(at))
    assert at.session_state["app_run"] == run_id


def test_a_lessons_button_switches_page_under_the_cloud_entrypoint(app_dirs, jobs, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    folder.mkdir()
    (folder / "tiny.toml").write_text(LESSON)
    monkeypatch.setenv("NNLAB_LESSONS_DIR", str(folder))
    at = cloud_app(lesson="tiny")
    at.button(key="lesson_setup_tiny_0").click().run()  # trains the preset, then st.switch_page to its page
    assert not errors(at), errors(at)
    assert at.session_state["app_run"].startswith("tiny-a")
    assert any("Decision boundary" in t.value for t in at.title), [t.value for t in at.title]


def _lines(path: Path) -> list[str]:
    return [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines() if ln.split("#", 1)[0].strip()]


def test_the_cloud_requirements_pin_the_cpu_build_and_take_the_rest_from_the_root():
    lines = _lines(CLOUD / "requirements.txt")
    assert f"--extra-index-url {CPU_INDEX}" in lines
    torch = [Requirement(ln) for ln in lines if re.match(r"torch\b", ln)]
    assert len(torch) == 1 and str(torch[0].specifier).startswith("==") and "+cpu" in str(torch[0].specifier)
    pinned = str(torch[0].specifier)[2:]
    root_torch = next(Requirement(ln) for ln in _lines(REPO / "requirements.txt") if re.match(r"torch\b", ln))
    assert root_torch.specifier.contains(pinned), (pinned, root_torch)  # the two files agree on torch
    included = [ln.split(None, 1)[1] for ln in lines if ln.startswith("-r ")]
    assert included == ["../requirements.txt"] and (CLOUD / included[0]).resolve() == REPO / "requirements.txt"


def test_no_root_requirements_file_names_the_cpu_index():
    for name in ("requirements.txt", "requirements-dev.txt", "requirements-ray.txt", ".ci/run"):
        assert "download.pytorch.org" not in (REPO / name).read_text(), name


def test_no_page_is_named_by_a_path_relative_to_the_entry_point():
    relative = re.compile(r"(page_link|switch_page|st\.Page)\(\s*f?[\"']app_pages/")
    files = [
        REPO / "streamlit_app.py",
        *sorted((REPO / "appkit").glob("*.py")),
        *sorted((REPO / "app_pages").glob("*.py")),
    ]
    found = [f"{f.relative_to(REPO)}" for f in files if relative.search(f.read_text())]
    assert not found, f"use appkit.frame.navigation.page_file(name) in {found}"
