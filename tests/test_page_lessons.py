"""The Lessons page and the running lesson through AppTest: cards (a broken file's card names file and line), a link
opens a lesson at a step with its progress, focus hides what the lesson does not use, the one button trains (or
reuses) the preset and opens the page, and a check marks the step done."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests import app_harness
from tests.app_harness import APP, errors

jobs = app_harness.jobs
LESSONS = "app_pages/lessons.py"
TINY = """title = "Tiny"
summary = "A teacher's two-minute lesson."
minutes = 2

[presets.a]
dataset = "moons"
data = { n_samples = 200 }
network = { hidden = [2] }
train = { epochs = 1 }
record = { snapshots = 3, eval_size = 50 }

[[steps]]
title = "Look"
text = "Press the button."
page = "boundary"
answer = "It got {final_accuracy:.0%} right."

[[steps]]
title = "Scrub"
text = "Move the slider to the start."
page = "boundary"
check = "snapshot_start"
answer = "At the start {start_accuracy:.0%}."

[[steps]]
title = "Guess"
text = "Guess."
page = "boundary"
answer = "{dead} dead."

[steps.question]
ask = "How many?"
low = 0
high = 2
truth = "dead"
"""


@pytest.fixture
def teacher(tmp_path, monkeypatch):
    """A teacher's folder ($NNLAB_LESSONS_DIR) holding the tiny lesson and a broken one; empty runs and data."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "tiny.toml").write_text(TINY)
    (folder / "broken.toml").write_text(TINY.replace('text = "Guess."\n', ""))
    for name in ("runs", "data"):
        (tmp_path / name).mkdir()
    monkeypatch.setenv("NNLAB_LESSONS_DIR", str(folder))
    monkeypatch.setenv("NNLAB_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return folder


def opened(page: str = LESSONS, **params) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    return at


def panel_text(at) -> str:
    return "\n".join(m.value for m in at.markdown)


def test_cards_for_every_lesson_and_a_broken_file_named(teacher):
    at = opened()
    assert not at.exception, at.exception
    titles = [h.value for h in at.subheader]
    assert any("One neuron draws a line" in t for t in titles) and any("Which pixels mattered" in t for t in titles)
    assert any("Tiny" in t for t in titles)  # the teacher's lesson beside the built-in ones
    broken = [e.value for e in at.error]
    assert len(broken) == 1 and "broken.toml, line 25: step 3 has no 'text'" in broken[0], broken
    built_in = len(list((APP.parent / "lessons").glob("*.toml")))
    assert sum("about " in c.value and "minutes" in c.value for c in at.caption) == built_in + 1  # and the tiny one


def test_a_link_opens_a_lesson_at_a_step_with_its_progress(teacher):
    at = opened(lesson="tiny", step=3, done="1", guesses="3:1")
    assert not at.exception, at.exception  # (the broken file's card is the page's one error box)
    text = panel_text(at)
    assert "step 3 of 3" in text and "1 of 3 done" in text and "Your answer: **1**" in text
    assert at.query_params["lesson"] == "tiny" and at.query_params["step"] == "3" and at.query_params["done"] == "1"
    again = opened(**{k: at.query_params[k] for k in ("lesson", "step", "done", "guesses")})  # a reload
    assert "step 3 of 3" in panel_text(again) and "1 of 3 done" in panel_text(again)
    again.button(key="lesson_back").click().run()
    assert "step 2 of 3" in panel_text(again) and again.query_params["step"] == "2"
    assert "To do" in panel_text(again)  # the check waits


def test_an_unknown_lesson_in_a_link_is_said_once(teacher):
    at = opened(lesson="nope")
    assert any("is not a lesson on this server" in w.value for w in at.warning)


def test_focus_hides_what_the_lesson_does_not_use(teacher):
    at = opened(lesson="01-one-neuron", focus=1)
    styles = [h.proto.body for h in at.get("html")]
    assert any(".st-key-app_run" in s and "display: none" in s for s in styles), styles  # lesson 1 keeps the slider
    assert not any(".st-key-app_snapshot" in s for s in styles)
    plain = opened(lesson="01-one-neuron")
    assert not any(".st-key-app_run" in h.proto.body for h in plain.get("html"))


def test_the_button_trains_the_preset_opens_the_page_and_the_check_marks_it_done(teacher, jobs):
    at = opened("app_pages/home.py", lesson="tiny")
    at.button(key="lesson_setup_tiny_0").click().run()
    assert not errors(at), errors(at)
    run_id = at.session_state["app_run"]
    assert run_id.startswith("tiny-a") and at.query_params["run"] == run_id
    assert "It got" in "\n".join(i.value for i in at.info)  # the answer, from the run
    at.button(key="lesson_next").click().run()
    assert "To do" in panel_text(at)
    at.slider(key="app_snapshot").set_value(0).run()
    assert "Done" in panel_text(at) and "At the start" in "\n".join(i.value for i in at.info)
    # the same preset again is the same run: reused, not trained again
    folders = sorted(p.name for p in (teacher.parent / "runs").iterdir())
    at.button(key="lesson_setup_tiny_1").click().run()
    assert sorted(p.name for p in (teacher.parent / "runs").iterdir()) == folders
    assert at.session_state["app_run"] == run_id


def test_a_lesson_preset_is_trained_as_a_run_shared_with_everyone(monkeypatch, tmp_path):
    from appkit.frame import lesson as L
    from nnlab.lessons import load_lessons

    monkeypatch.setenv("NNLAB_RUNS_DIR", str(tmp_path))
    lesson = next(x for x in load_lessons() if getattr(x, "name", "").startswith("01"))
    spec = L.spec_for(lesson, next(iter(lesson.presets)))
    assert spec.shared is True  # nobody's own: every student sees it, only the teacher may rename or delete it


def walk(node):
    """Every element under `node`, in the order the page shows them."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def test_start_brings_the_step_into_view_once(teacher):
    at = opened()
    assert not any("scrollIntoView" in h.proto.body for h in at.get("html"))
    at.button(key="lessons_start_tiny").click().run()
    scripts = [h.proto.body for h in at.get("html") if "scrollIntoView" in h.proto.body]
    assert len(scripts) == 1 and ".st-key-lesson_panel" in scripts[0], scripts
    at.run()  # a rerun of the same step: no scrolling the student back
    assert not any("scrollIntoView" in h.proto.body for h in at.get("html"))
    at.button(key="lesson_next").click().run()  # the next step opens in view again
    assert sum("scrollIntoView" in h.proto.body for h in at.get("html")) == 1


def test_predict_first_comes_before_the_button_and_the_words_name_it(teacher):
    at = opened(lesson="tiny", step=3)
    shown = [
        n.value if hasattr(n, "value") and isinstance(n.value, str) else getattr(n, "label", None) or ""
        for n in walk(at.main)
    ]
    ask = next(i for i, t in enumerate(shown) if "**Predict first:**" in t)
    button = next(i for i, t in enumerate(shown) if t == "Set it up")
    assert ask < button, shown
    assert any("Trains *moons · mlp*" in c.value and "**Decision boundary**" in c.value for c in at.caption)
    before = opened(lesson="tiny", step=2)  # the lesson's own steps, not a page's "Next" (the walk-through has one)
    assert (before.button(key="lesson_back").label, before.button(key="lesson_next").label) == (
        "Previous step",
        "Next step",
    )


def test_the_steps_own_slider_moves_the_sidebars_and_passes_the_check(teacher, jobs):
    at = opened("app_pages/home.py", lesson="tiny")
    at.button(key="lesson_setup_tiny_0").click().run()
    assert not [s for s in at.slider if s.key.startswith("lesson_snapshot")]  # step 1 asks for no slider
    at.button(key="lesson_next").click().run()
    own = at.slider(key="lesson_snapshot_tiny_1")  # the check reads the training-time slider: the box has one
    last = at.slider(key="app_snapshot").value
    assert own.value == last > 0 and "To do" in panel_text(at)
    own.set_value(0).run()
    assert at.slider(key="app_snapshot").value == 0 and at.query_params["snapshot"] == "0"
    assert at.slider(key="lesson_snapshot_tiny_1").value == 0
    assert "Done" in panel_text(at) and "At the start" in "\n".join(i.value for i in at.info)
    at.slider(key="app_snapshot").set_value(last).run()  # one position: the sidebar's moves the box's too
    assert at.slider(key="lesson_snapshot_tiny_1").value == last


def test_the_count_agrees_with_lesson_complete(teacher, jobs):
    at = opened("app_pages/home.py", lesson="tiny", step=3, done="1.2", guesses="3:0")
    at.button(key="lesson_setup_tiny_2").click().run()
    assert not errors(at), errors(at)
    assert "Lesson complete" in "\n".join(s.value for s in at.success)
    assert "3 of 3 done" in panel_text(at) and "2 of 3 done" not in panel_text(at)


def test_the_training_bar_says_what_happens_after_the_last_step():
    from appkit.frame.lesson import bar_words
    from nnlab.live import LiveView

    during = LiveView(step=100, total_steps=500, steps_per_epoch=25, elapsed=4.0, started=True)
    assert bar_words(during, "Epoch 4.0 of 20") == "Epoch 4.0 of 20"
    last_report = LiveView(step=475, total_steps=500, steps_per_epoch=25, elapsed=19.0, started=True)  # 1 s left
    assert "last snapshot" in bar_words(last_report, "Epoch 19.0 of 20 · step 475 of 500 · 1 s left")
    done = LiveView(step=500, total_steps=500, steps_per_epoch=25, elapsed=20.0, started=True)
    assert "last snapshot" in bar_words(done, "…")
    assert bar_words(LiveView(), "Starting…") == "Starting…"  # before the first step: the job's own words


def test_the_step_is_drawn_above_a_page_that_ends_early(teacher):
    """The Decision boundary page without a run ends at its gate (the quick start); the lesson's step still shows
    above it: pages end with end_page(), after which the router draws the step (after st.stop() nothing is drawn)."""
    at = opened(page="app_pages/boundary.py", lesson="tiny", step=1)
    assert not at.exception
    assert any("Quick start" in b.label for b in at.button)  # the gate said why the page ends here
    assert "step 1 of 3" in panel_text(at) and at.button(key="lesson_next")
