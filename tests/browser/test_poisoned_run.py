"""A poisoned run in a real Chromium: the upload is refused with the reason, and a second visitor sees no error box.

One visitor uploads run zips whose manifests break the schema (a number where the date goes, lists nested
fifty thousand deep) on the Runs page; each is refused in words and nothing is stored. A damaged run folder is
also put on the server's disk, as a crash or a hand-copied folder would leave it. Then a second visitor (a new
browser context, so a new Streamlit session) opens every page from the sidebar, one after another in that session:
no exception box and no error alert anywhere.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile

import pytest

from nnlab.runs import export_zip
from tests.browser.conftest import _app_page

pytestmark = pytest.mark.browser


def _poisoned_zip(run_folder, change) -> bytes:
    """The run's zip with `change` applied to its manifest (text in, text out)."""
    with zipfile.ZipFile(io.BytesIO(export_zip(run_folder))) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["manifest.json"] = change(members["manifest.json"].decode()).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _created_is_a_number(text: str) -> str:
    return json.dumps(json.loads(text) | {"created": 1})


def _deeply_nested(text: str) -> str:
    return text.replace('"record":', '"deep": ' + "[" * 50_000 + "]" * 50_000 + ', "record":', 1)


def _upload(app, name: str, data: bytes) -> list[str]:
    """Upload `data` as `name` on the Runs page and press "Add this run"; the error boxes it leaves."""
    app.open("Runs")
    main = app.page.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": name, "mimeType": "application/zip", "buffer": data}]
    )
    app.wait_idle()
    main.get_by_role("button", name="Add this run").click()
    app.page.wait_for_timeout(300)
    app.wait_idle()
    return app.errors()


def test_a_poisoned_upload_is_refused_and_no_page_breaks_for_the_next_visitor(
    app, browser, server, trained_runs, app_dirs, nav_titles
):
    runs = app_dirs["runs"]
    source = runs / trained_runs["moons"]
    before = sorted(p.name for p in runs.iterdir())
    for name, change, reason in [
        ("created.zip", _created_is_a_number, "has a bad 'created'"),
        ("nested.zip", _deeply_nested, "levels deep"),
    ]:
        shown = _upload(app, name, _poisoned_zip(source, change))
        assert len(shown) == 1 and "This zip cannot be added" in shown[0] and reason in shown[0], shown
    assert sorted(p.name for p in runs.iterdir()) == before  # nothing stored

    damaged = runs / "damaged-on-disk"
    shutil.copytree(source, damaged)
    (damaged / "manifest.json").write_text(_created_is_a_number((damaged / "manifest.json").read_text()))
    try:
        with _app_page(browser, server, trained_runs) as visitor:
            visitor.open()
            for title in nav_titles:  # page after page from the sidebar, as a visitor clicks through
                visitor.nav_link(title).click()
                visitor.page.wait_for_timeout(300)
                visitor.wait_idle()
                visitor.check_page(f"poisoned-{title.lower().replace(' ', '-')}")  # charts drawn, no error box
                if title == "Runs":
                    assert visitor.page.get_by_text("Damaged runs").count() == 1  # listed apart, with its reason
    finally:
        shutil.rmtree(damaged, ignore_errors=True)
