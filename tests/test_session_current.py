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


def test_the_pickers_own_default_is_the_linked_run_so_a_redrawn_box_names_it(app_env, runs):
    """A link to an older run: on the rerun that adopts it Streamlit sends the box its value; on every later rerun the
    box's default is that run too (it was the newest run, index 0), so a browser that mounts the box afresh, as when
    the sidebar changes above it, names the run the page shows (seen in Chromium: 2 of 19 linked visits)."""
    _, mlp, cnn = runs
    at = app_test(app_env)
    at.query_params["run"] = cnn.id  # older than the moons MLP: not the sidebar's default
    at.switch_page(BOUNDARY).run()
    picker = at.sidebar.selectbox(key="app_run")
    assert picker.value == cnn.id and picker.options[0] != picker.options[picker.index]
    at.switch_page("app_pages/weights.py").run()  # a click on another page: nothing sets the run now
    picker = at.sidebar.selectbox(key="app_run")
    assert picker.value == cnn.id and picker.proto.default == picker.index == 1 and not errors(at)


def test_an_older_address_coming_back_from_the_browser_is_not_a_link(app_env, growing):
    """A browser's request can leave before this session's newest address reaches it (the watcher's timer fires
    while the page reruns), so it carries an older snapshot or choice: that echo must not pull the view back (in
    Chromium a page following a live run stopped at the snapshot an echo named). A value never written is a link."""
    run_id, write, _ = growing
    at = app_test(app_env)
    at.session_state["app_run"] = run_id
    at.switch_page(BOUNDARY).run()
    assert at.query_params["colour"] == "probabilities"
    at.slider(key="app_snapshot").set_value(0).run()  # the student pins a snapshot: it goes in the address
    assert at.query_params["snapshot"] == "0"
    at.slider(key="app_snapshot").set_value(1).run()  # back at the newest: following again
    assert "snapshot" not in at.query_params  # a followed run's address names no snapshot
    write(3, "running")
    at.segmented_control(key="boundary_mode").set_value("regions").run()  # a request with the address it knew
    assert at.session_state["app_snapshot"] == 2 and at.query_params["colour"] == "regions"  # this run's writes
    at.query_params.update(snapshot="0", colour="probabilities")  # the next request left before they arrived
    write(4, "running")
    at.run()
    assert not errors(at), errors(at)
    assert at.session_state["app_snapshot"] == 3 and "snapshot" not in at.query_params  # still following
    assert at.session_state["boundary_mode"] == "regions" and at.query_params["colour"] == "regions"
    assert not any("newer snapshot" in c.value for c in at.sidebar.caption)
    at.query_params["snapshot"] = "1"  # never this session's own: a link (a lesson's step), taken
    at.run()
    assert at.session_state["app_snapshot"] == 1 and at.query_params["snapshot"] == "1"
    assert any("2 newer snapshots" in c.value for c in at.sidebar.caption)


def test_a_followed_run_keeps_one_address_and_its_link_opens_the_newest_snapshot(app_env, growing):
    """The browser adds a history entry per change of the address: following a run must not change it per
    snapshot. Its link names the run but no snapshot, says so, and opens the newest snapshot."""
    run_id, write, total = growing
    at = app_test(app_env)
    at.session_state["app_run"] = run_id
    at.switch_page(BOUNDARY).run()
    addresses = [dict(at.query_params)]
    for n in range(3, total + 1):
        write(n, "running")
        at.run()
        assert at.session_state["app_snapshot"] == n - 1
        addresses.append(dict(at.query_params))
    assert len(addresses) >= 3 and all(a == addresses[0] for a in addresses) and addresses[0]["run"] == run_id
    assert "snapshot" not in addresses[0]
    box = " ".join(c.value for c in at.sidebar.caption)
    assert "still training" in box and "newest snapshot" in box
    fresh = app_test(app_env)  # the link opened in another browser
    fresh.query_params.update(addresses[0])
    fresh.switch_page(BOUNDARY).run()
    assert fresh.session_state["app_run"] == run_id and fresh.session_state["app_snapshot"] == total - 1
