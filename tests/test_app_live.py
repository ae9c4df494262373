"""Analysis pages follow a run while it trains: the newest snapshot is drawn, a scrubbed-back page stays put.

A finished run is copied and its manifest cut back to two snapshots and marked as being written by this process,
then grown a snapshot at a time, as the recorder grows it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket

import pytest

from tests import app_harness
from tests.app_harness import app_test, errors

jobs = app_harness.jobs
app_env = app_harness.app_env
BOUNDARY = "app_pages/boundary.py"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return app_harness.small_runs(tmp_path_factory.mktemp("live-runs"))


@pytest.fixture
def growing(runs):
    """A copy of the moons MLP that 'is still training': grow(n) shows its first n snapshots; end() finishes it."""
    root, mlp, _ = runs
    folder = root / "growing-20261201-000000"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(mlp.folder, folder)
    full = json.loads((folder / "manifest.json").read_text())

    def write(n: int, status: str) -> None:
        m = dict(full, snapshots=full["snapshots"][:n], status=status)
        m["writer"] = {"pid": os.getpid(), "host": socket.gethostname()}
        m["created"] = "2099-01-01T00:00:00"  # the newest run: the sidebar's default
        path = folder / "manifest.json"
        path.write_text(json.dumps(m))
        st = path.stat()
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + n * 1_000_000))  # a new stamp even within one tick

    write(2, "running")
    yield folder.name, write, len(full["snapshots"])
    shutil.rmtree(folder, ignore_errors=True)


def badge(at) -> bool:
    return any("Live" in m.value for m in at.sidebar.markdown)


def test_a_page_follows_the_newest_snapshot_and_stays_where_the_student_put_it(app_env, growing):
    run_id, write, total = growing
    at = app_test(app_env)
    at.session_state["app_run"] = run_id
    at.switch_page(BOUNDARY).run()
    assert not errors(at), errors(at)
    assert badge(at) and at.session_state["app_snapshot"] == 1
    write(3, "running")  # a new snapshot: the page draws it
    at.run()
    assert at.session_state["app_snapshot"] == 2 and not errors(at)
    at.slider(key="app_snapshot").set_value(0).run()  # the student goes back to the start
    write(4, "running")
    at.run()
    assert at.session_state["app_snapshot"] == 0  # it stays there
    assert any("3 newer snapshots" in c.value for c in at.sidebar.caption)
    at.sidebar.button(key="app_follow_button").click().run()
    assert at.session_state["app_snapshot"] == 3  # following again
    write(total, "complete")
    at.run()
    assert not badge(at) and at.session_state["app_snapshot"] == total - 1
    assert any("Training ended (complete)" in s.value for s in at.sidebar.success)
    at.run()
    assert not any("Training ended" in s.value for s in at.sidebar.success)  # said once


def test_a_finished_run_has_no_live_badge(app_env, runs):
    _, mlp, _ = runs
    at = app_test(app_env)
    at.session_state["app_run"] = mlp.id
    at.switch_page(BOUNDARY).run()
    assert not badge(at) and not errors(at)
