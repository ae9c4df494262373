"""The running lesson on every page: its current step at the top of the page, with its one button, next and back.

`streamlit_app.py` calls `navigation(PAGES)` (a focus link `?focus=1` keeps only the lesson's pages) and runs the
page through `run(nav)`, which draws the step in a slot above the page once the page has drawn, so a check reads
the address and widgets as the page left them. `?lesson=NAME&step=K` opens a lesson at step K; the step, the
steps done and the guesses are kept in the session (keys `lesson_*`) and written back to the address on every
rerun, so a reload keeps them. The setup button trains the step's preset runs through the job registry (a run
of the same configuration is reused), then opens the page with `st.switch_page(page, query_params=...)`.
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from nnlab.jobs.keys import RunIndex, config_key
from nnlab.lessons import CHECKS, At, Lesson, LessonError, View, fact, fields, lesson_dirs, load_lessons, render
from nnlab.lessons.checks import describe, passed

from . import links
from .state import CACHE_TTL, current_run, current_snapshot, job_registry, load_data, open_run, page_file
from .training import job_spec, progress_text, start_job

LESSON, STEP, FOCUS, DONE, GUESSES = "lesson", "step", "focus", "done", "guesses"  # the address's parameters
NAME_KEY, STEP_KEY, FOCUS_KEY = "lesson_name", "lesson_step", "lesson_focus"  # the running lesson, its step (0-based)
PROGRESS_KEY = "lesson_progress"  # lesson name → {"done": set, "checked": set, "guesses": {step: value}}
RUNS_KEY = "lesson_runs"  # (lesson, preset) → run id, once set up in this session
SETUP_KEY = "lesson_setup"  # (lesson, step) → the snapshot the setup opened
HIDE = {"run": "app_run", "snapshot": "app_snapshot"}  # sidebar controls by the name a lesson's `sidebar` uses
LR_DEFAULT = {"adam": 3e-3, "sgd": 3e-2}  # the Train page's learning-rate defaults (appkit.train_form)
CHECK_EVERY = 1.0  # seconds between two looks at a step's check while it waits


# --- the lessons on disk --------------------------------------------------------------------------------------
@st.cache_resource(max_entries=4, ttl=CACHE_TTL, show_spinner=False)
def _load(stamp: tuple) -> list[Lesson | LessonError]:
    return load_lessons()


def catalogue() -> list[Lesson | LessonError]:
    """Every lesson file (built-in, then `$NNLAB_LESSONS_DIR`), read again when one changes."""
    stamp = tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for d in lesson_dirs() for p in Path(d).glob("*.toml")
    )
    return _load(stamp)


def find(name: str | None) -> Lesson | None:
    return next((x for x in catalogue() if isinstance(x, Lesson) and x.name == name), None)


def progress(name: str) -> dict:
    every = st.session_state.setdefault(PROGRESS_KEY, {})
    return every.setdefault(name, {"done": set(), "checked": set(), "guesses": {}})


def active() -> tuple[Lesson, int] | None:
    """The running lesson and its step index, or None."""
    lesson = find(st.session_state.get(NAME_KEY))
    if lesson is None:
        return None
    return lesson, max(0, min(int(st.session_state.get(STEP_KEY, 0)), len(lesson.steps) - 1))


def start(name: str, step: int = 0) -> None:
    """Run lesson `name` from `step` (the panel appears on the next rerun)."""
    st.session_state[NAME_KEY], st.session_state[STEP_KEY] = name, step


def leave() -> None:
    st.session_state.pop(NAME_KEY, None)
    written = st.session_state.setdefault(links.WRITTEN + "_params", {})
    for param in (LESSON, STEP, FOCUS, DONE, GUESSES):
        st.query_params.pop(param, None)
        written.pop(param, None)  # the same link opened again is taken again


# --- the address ------------------------------------------------------------------------------------------
def _adopt() -> None:
    """A link's lesson, step, focus, steps done and guesses become the session's."""
    raw = links.incoming(LESSON)
    if raw is not None:
        if find(raw) is None:
            links.notice("lesson", raw, "is not a lesson on this server")
        else:
            st.session_state[NAME_KEY], st.session_state[STEP_KEY] = raw, 0
    lesson = find(st.session_state.get(NAME_KEY))
    if lesson is None:
        return
    step = links.incoming_int(STEP, 1, len(lesson.steps), what="lesson step")
    if step is not None:
        st.session_state[STEP_KEY] = step - 1
    if (focus := links.incoming(FOCUS)) is not None:
        st.session_state[FOCUS_KEY] = focus == "1"
    mine = progress(lesson.name)
    if (done := links.incoming(DONE)) is not None:
        mine["done"] |= {int(s) - 1 for s in done.split(".") if s.isdigit() and 0 < int(s) <= len(lesson.steps)}
        mine["checked"] |= mine["done"]
    if (said := links.incoming(GUESSES)) is not None:
        for part in said.split(","):
            i, _, value = part.partition(":")
            if i.isdigit() and 0 < int(i) <= len(lesson.steps):
                try:
                    mine["guesses"].setdefault(int(i) - 1, float(value))
                except ValueError:
                    continue


def _keep(lesson: Lesson, i: int) -> dict:
    """The lesson's parameters for the address (and for the links the setup button opens)."""
    mine = progress(lesson.name)
    out = {LESSON: lesson.name, STEP: str(i + 1)}
    if mine["done"]:
        out[DONE] = ".".join(str(s + 1) for s in sorted(mine["done"]))
    if mine["guesses"]:
        out[GUESSES] = ",".join(f"{s + 1}:{v:g}" for s, v in sorted(mine["guesses"].items()))
    if st.session_state.get(FOCUS_KEY):
        out[FOCUS] = "1"
    return out


def navigation(pages: dict) -> dict:
    """The router's pages: all of them, or in a focus lesson only Lessons and the pages its steps open."""
    _adopt()
    now = active()
    if now is None or not st.session_state.get(FOCUS_KEY):
        return pages
    used = {"lessons"} | {s.page for s in now[0].steps}
    kept = {sec: [p for p in ps if (p.url_path or "home") in used] for sec, ps in pages.items()}
    return {sec: ps for sec, ps in kept.items() if ps}


# --- the preset runs ----------------------------------------------------------------------------------------
@st.cache_resource(show_spinner=False)
def _index() -> RunIndex:
    return RunIndex()


def spec_for(lesson: Lesson, preset: str):
    p = lesson.presets[preset]
    ds = load_data(p.data)
    model = p.model(ds.input_shape, ds.n_classes)
    return job_spec(p.data, model, p.train, p.record, name=f"{lesson.name}-{preset}", shared=True)


def run_id(lesson: Lesson, preset: str) -> str | None:
    """The run of a preset: set up in this session, else found on disk by its configuration (complete or
    diverged: a diverged run is a finished training too); None if it was never trained here."""
    known = st.session_state.setdefault(RUNS_KEY, {}).get((lesson.name, preset))
    if known and open_run(known) is not None:
        return known
    spec = spec_for(lesson, preset)
    key = config_key(spec)
    found = [(f, e) for f, e in _index().entries(spec.root) if e.get("config_key") == key]
    found = [(f, e) for f, e in found if e.get("status") in ("complete", "diverged")]
    return max(found, key=lambda fe: fe[1].get("finished") or 0.0)[0].name if found else None


def _train(lesson: Lesson, preset: str) -> str | None:
    """The preset's run id, training it now (with a progress bar) when this server has not trained it yet."""
    if (found := run_id(lesson, preset)) is not None:
        return found
    job = start_job(spec_for(lesson, preset), lesson.presets[preset].label)
    if job is None:
        return None
    bar = st.progress(0.0, text=f"{lesson.presets[preset].label}: starting…")
    while job.alive:
        bar.progress(job.live.view().fraction, text=f"{lesson.presets[preset].label}: {progress_text(job)}")
        time.sleep(0.1)
    if not job.run_id or job.status in ("failed", "cancelled"):
        st.error(f"Training {lesson.presets[preset].label} failed: {job.error or job.message}")
        return None
    st.session_state[RUNS_KEY][(lesson.name, preset)] = job.run_id
    return job.run_id


def _presets_of(lesson: Lesson, i: int) -> list[str]:
    step = lesson.steps[i]
    named = [p for text in (step.answer, *(v for _, v in step.params)) for _, p, _ in fields(text) if p]
    return list(dict.fromkeys([*named, step.run]))  # the step's own run last: it is the one opened


def setup(lesson: Lesson, i: int) -> None:
    """The step's one button: train (or reuse) its runs, then open its page at its run, snapshot and choices."""
    step = lesson.steps[i]
    ids = {p: _train(lesson, p) for p in _presets_of(lesson, i)}
    if None in ids.values():
        return
    run = open_run(ids[step.run])
    k = len(run) - 1 if step.snapshot == "last" else min(int(step.snapshot), len(run) - 1)
    at = At(k, step.point)
    params = {name: render(v, lambda f, p: fact(f, open_run(ids[p or step.run]), at)) for name, v in step.params}
    st.session_state.setdefault(SETUP_KEY, {})[(lesson.name, i)] = k
    query = {links.RUN: run.id, links.SNAPSHOT: str(k), **params, **_keep(lesson, i)}
    st.switch_page(page_file(step.page), query_params=query)


# --- the panel ------------------------------------------------------------------------------------------------
def view(lesson: Lesson, i: int) -> View:
    run = current_run()
    opt = st.session_state.get("train_optimizer", "adam")
    values = {"lr": st.session_state.get(f"train_lr_{opt}"), "lr_default": LR_DEFAULT.get(opt)}
    runs = {p: r for p in lesson.presets if (r := run_id(lesson, p)) is not None}
    page = st.session_state.get(links.PAGE_PATH) or "home"
    setup_k = st.session_state.get(SETUP_KEY, {}).get((lesson.name, i))
    snap = current_snapshot(run) if run is not None and len(run) else None
    return View(page, run, snap, dict(st.query_params), values, runs, setup_k)


def answer(lesson: Lesson, i: int, runs: dict) -> str | None:
    """The step's answer from the student's runs (None until its runs exist), kept per run state in the session."""
    step = lesson.steps[i]
    opened = {p: open_run(r) for p, r in runs.items()}
    if any(opened.get(p) is None for p in _presets_of(lesson, i)):
        return None
    stamp = (lesson.name, i, tuple((p, r.id, len(r), r.status) for p, r in sorted(opened.items())))
    cache = st.session_state.setdefault("lesson_answers", {})
    if stamp not in cache:
        at = At(-1 if step.snapshot == "last" else int(step.snapshot), step.point)
        cache[stamp] = render(step.answer, lambda f, p: fact(f, opened[p or step.run], at))
    return cache[stamp]


def _guess_words(q, value) -> str:
    return q.choices[int(value)] if q.choices else f"{value:g}{q.unit}"


def _question(lesson: Lesson, i: int, mine: dict, runs: dict, revealed: bool) -> bool:
    """The predict-first question: its widget until answered, then the guess (and, once revealed, the truth)."""
    q = lesson.steps[i].question
    st.markdown(f"**Predict first:** {q.ask}")
    key = f"lesson_q_{lesson.name}_{i}"
    if i not in mine["guesses"]:
        if q.choices:
            pick = st.radio(
                "Your answer", range(len(q.choices)), format_func=lambda c: q.choices[c], index=None, key=key
            )
        else:
            mid = q.low + (q.high - q.low) / 2
            pick = st.slider("Your guess", q.low, q.high, mid, q.step, key=key, format="%g" + q.unit.replace("%", "%%"))
        if st.button("Lock in my answer", key=f"{key}_go", disabled=pick is None, icon=":material/lock:"):
            mine["guesses"][i] = float(pick)
            st.rerun()
        return False
    guess = mine["guesses"][i]
    if not revealed:
        st.markdown(f"Your answer: **{_guess_words(q, guess)}**. The real answer comes once the step is done.")
        return True
    if q.choices:
        right, truth = int(guess) == q.right, q.choices[q.right]
    else:
        run = open_run(runs[lesson.steps[i].run])
        value = fact(q.truth, run, At(-1 if lesson.steps[i].snapshot == "last" else int(lesson.steps[i].snapshot)))
        truth_value = None if value is None else float(value) * q.scale
        right = truth_value is not None and abs(guess - truth_value) <= q.tolerance
        truth = "unknown" if truth_value is None else f"{truth_value:.3g}{q.unit}"
    mark = ":green[:material/check_circle: right]" if right else ":orange[:material/cancel: not this time]"
    st.markdown(f"Your answer: **{_guess_words(q, guess)}** · the real answer: **{truth}** · {mark}")
    return True


def _panel(lesson: Lesson, i: int) -> None:
    """The step in a bordered box; while its check waits, a fragment looks again every second (a page's own
    fragment, such as the walk-through's sample picker, changes the view without rerunning the app)."""
    step, mine = lesson.steps[i], progress(lesson.name)
    with st.container(border=True, key="lesson_panel"):
        if step.check is not None and i not in mine["checked"]:
            st.fragment(run_every=CHECK_EVERY)(_body)(lesson, i, polling=True)
        else:
            _body(lesson, i)


def _body(lesson: Lesson, i: int, polling: bool = False) -> None:
    step, n, mine = lesson.steps[i], len(lesson.steps), progress(lesson.name)
    v = view(lesson, i)
    st.markdown(
        f":material/school: **{lesson.title}** · step {i + 1} of {n}: **{step.title}** "
        f"· {len(mine['done'])} of {n} done"
    )
    st.markdown(step.text)
    ready = step.run in v.runs
    if not ready:
        job_registry().warm()  # a training is likely: have a worker process ready
    here = v.page == step.page and ready and v.run is not None and v.run.id == v.runs[step.run]
    if st.button(
        "Set it up" if not ready else ("Set it up again" if here else "Open it"),
        key=f"lesson_setup_{lesson.name}_{i}",
        type="secondary" if here else "primary",
        icon=":material/play_circle:",
        help="Trains the lesson's run (or reuses it if this server trained it before) and opens the page.",
    ):
        setup(lesson, i)
    if step.check is not None:
        if i not in mine["checked"] and ready and passed(step.check, v):
            mine["checked"].add(i)
            if polling:
                st.rerun(scope="app")  # done: draw the answer, and stop looking
        words = describe(step.check) if isinstance(step.check, dict) else CHECKS[step.check].doc
        icon = ":green[:material/check_circle:] Done" if i in mine["checked"] else ":material/pending: To do"
        st.markdown(f"{icon}: {words}.")
    checked = step.check is None or i in mine["checked"]
    answered = step.question is None or i in mine["guesses"]
    revealed = checked and answered and ready
    if step.question is not None:
        _question(lesson, i, mine, v.runs, revealed)
    if revealed and (text := answer(lesson, i, v.runs)) is not None:
        mine["done"].add(i)
        st.info(text, icon=":material/lightbulb:")
    c = st.columns([1, 1, 1, 3])
    if c[0].button("Back", key="lesson_back", icon=":material/arrow_back:", disabled=i == 0):
        st.session_state[STEP_KEY] = i - 1
        st.rerun()
    if i + 1 < n and c[1].button("Next", key="lesson_next", icon=":material/arrow_forward:"):
        st.session_state[STEP_KEY] = i + 1
        st.rerun()
    if c[2].button("Leave", key="lesson_leave", icon=":material/logout:", help="Your progress is kept."):
        leave()
        st.rerun()
    if i + 1 == n and len(mine["done"]) == n:
        c[3].success("Lesson complete.", icon=":material/celebration:")


def _focus_style(lesson: Lesson) -> None:
    hidden = [f".st-key-{key}" for control, key in HIDE.items() if control not in lesson.sidebar]
    if hidden:
        st.html(f"<style>{', '.join(hidden)} {{display: none;}}</style>")


def run(nav) -> None:
    """Run the page, then draw the lesson's step in a slot above it (also when the page stopped early)."""
    slot = st.container()
    try:
        nav.run()
    except StopException:
        _fill(slot)
        raise
    _fill(slot)


def _fill(slot) -> None:
    now = active()
    if now is None:
        return
    lesson, i = now
    for param, value in _keep(lesson, i).items():
        links.keep(param, value)
    if st.session_state.get(FOCUS_KEY):
        _focus_style(lesson)
    with slot:
        _panel(lesson, i)
