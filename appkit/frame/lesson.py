"""The running lesson on every page: its current step at the top of the page, with its one button, next and back.

`streamlit_app.py` calls `navigation(PAGES)` (a focus link `?focus=1` keeps only the lesson's pages) and runs the
page through `run(nav)`, which draws the step in a slot above the page once the page has drawn, so a check reads
the address and widgets as the page left them. `?lesson=NAME&step=K` opens a lesson at step K; the step, the
steps done and the guesses are kept in the session (keys `lesson_*`) and written back to the address on every
rerun, so a reload keeps them. The box reads top to bottom: the text, the predict-first question, then the setup
button ("Set it up"), which trains the step's preset runs through the job registry (a run of the same configuration
is reused) and opens the page with `st.switch_page(page, query_params=...)`. A step whose check reads the
training-time slider has a slider of its own in the box, bound to the sidebar's (`current.show_snapshot`), and a
step that opens is scrolled into view by a line of JavaScript (`st.html`).
"""

from __future__ import annotations

import time
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException

from appkit.caches import CACHE_TTL, job_registry, load_data, open_run
from appkit.frame.gate import PageEnd
from appkit.frame.navigation import page_file, pages_by_section
from appkit.session import links
from appkit.session.current import current_run, current_snapshot, show_snapshot
from appkit.training.jobs import job_spec, progress_text, start_job
from nnlab.lessons import CHECKS, At, Lesson, LessonError, View, fact, fields, lesson_dirs, load_lessons, render
from nnlab.lessons.checks import describe, passed
from nnlab.runs.index import RunIndex

LESSON, STEP, FOCUS, DONE, GUESSES = "lesson", "step", "focus", "done", "guesses"  # the address's parameters
NAME_KEY, STEP_KEY, FOCUS_KEY = "lesson_name", "lesson_step", "lesson_focus"  # the running lesson, its step (0-based)
PROGRESS_KEY = "lesson_progress"  # lesson name → {"done": set, "checked": set, "guesses": {step: value}}
RUNS_KEY = "lesson_runs"  # (lesson, preset) → run id, once set up in this session
SETUP_KEY = "lesson_setup"  # (lesson, step) → the snapshot the setup opened
SCROLL_KEY = "lesson_scroll"  # True: the step just opened, bring its box into view on this rerun
HIDE = {"run": "app_run", "snapshot": "app_snapshot"}  # sidebar controls by the name a lesson's `sidebar` uses
LR_DEFAULT = {"adam": 3e-3, "sgd": 3e-2}  # the Train page's learning-rate defaults (appkit.training.form)
CHECK_EVERY = 1.0  # seconds between two looks at a step's check while it waits
ENDING_S = 2.0  # seconds left at which the training bar says what comes after the last step


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
    """Run lesson `name` from `step` (the panel appears on the next rerun, scrolled into view)."""
    st.session_state[NAME_KEY], st.session_state[STEP_KEY] = name, step
    st.session_state[SCROLL_KEY] = True


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
    key = spec.key()
    found = [(f, e) for f, e in _index().entries(spec.root) if e.get("config_key") == key]
    found = [(f, e) for f, e in found if e.get("status") in ("complete", "diverged")]
    return max(found, key=lambda fe: fe[1].get("finished") or 0.0)[0].name if found else None


def bar_words(v, words: str) -> str:
    """The training bar's words for the job's `LiveView` `v`: `words` ("Epoch 2.4 of 5 · …") while it trains,
    then what it does after its last reported step (the worker reports every few steps, so the bar stopped at
    "step 475 of 500 · 0 s left" for seconds and looked hung)."""
    if v.started and (v.fraction >= 1 or (v.eta is not None and v.eta < ENDING_S)):
        return "the last steps, then the last snapshot is written…"
    return words


def _train(lesson: Lesson, preset: str, opening: str) -> str | None:
    """The preset's run id, training it now (with a progress bar that ends by saying the page `opening` comes next)
    when this server has not trained it yet."""
    if (found := run_id(lesson, preset)) is not None:
        return found
    job = start_job(spec_for(lesson, preset), lesson.presets[preset].label)
    if job is None:
        return None
    label = lesson.presets[preset].label
    bar = st.progress(0.0, text=f"{label}: starting…")
    while job.alive:
        v = job.live.view()
        bar.progress(v.fraction, text=f"{label}: {bar_words(v, progress_text(job))}")
        time.sleep(0.1)
    if not job.run_id or job.status in ("failed", "cancelled"):
        st.error(f"Training {label} failed: {job.error or job.message}")
        return None
    bar.progress(1.0, text=f"{label}: training done. Opening {opening} on it…")
    st.session_state[RUNS_KEY][(lesson.name, preset)] = job.run_id
    return job.run_id


def _presets_of(lesson: Lesson, i: int) -> list[str]:
    step = lesson.steps[i]
    named = [p for text in (step.answer, *(v for _, v in step.params)) for _, p, _ in fields(text) if p]
    return list(dict.fromkeys([*named, step.run]))  # the step's own run last: it is the one opened


def setup(lesson: Lesson, i: int) -> None:
    """The step's one button: train (or reuse) its runs, then open its page at its run, snapshot and choices."""
    step = lesson.steps[i]
    ids = {p: _train(lesson, p, page_title(step.page)) for p in _presets_of(lesson, i)}
    if None in ids.values():
        return
    run = open_run(ids[step.run])
    k = len(run) - 1 if step.snapshot == "last" else min(int(step.snapshot), len(run) - 1)
    at = At(k, step.point)
    params = {name: render(v, lambda f, p: fact(f, open_run(ids[p or step.run]), at)) for name, v in step.params}
    st.session_state.setdefault(SETUP_KEY, {})[(lesson.name, i)] = k
    st.session_state[SCROLL_KEY] = True  # the page opens with the step's box in view
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


def page_title(name: str) -> str:
    """A page's title in the navigation ("Decision boundary"), from its name ("boundary")."""
    for pages in pages_by_section().values():
        for page in pages:
            if (page.url_path or "home") == name:
                return page.title
    return name.replace("_", " ").capitalize()


def _setup_button(lesson: Lesson, i: int, v: View, ready: bool, here: bool) -> None:
    """The step's one button, "Set it up" (the word the lesson texts use), with what it does written beside it."""
    step = lesson.steps[i]
    title, label = page_title(step.page), lesson.presets[step.run].label
    if here:
        words = f"Opens **{title}** again as the step set it up (its run, training time and choices)."
    elif ready:
        words = f"Opens **{title}** with your run of *{label}* (trained before: nothing to wait for)."
    else:
        words = f"Trains *{label}* (a few seconds) and opens **{title}** on it."
    left, right = st.columns([1, 3], vertical_alignment="center")
    if left.button(
        "Set it up again" if here else "Set it up",
        key=f"lesson_setup_{lesson.name}_{i}",
        type="secondary" if here else "primary",
        icon=":material/play_circle:",
    ):
        setup(lesson, i)
    right.caption(words)


def _slider(lesson: Lesson, i: int, v: View) -> None:
    """A training-time slider in the step's box, bound to the sidebar's (`current.show_snapshot`): the sidebar's
    sits low in a short window. Moving it reruns the app, and its callback moves the sidebar's first."""
    if v.run is None or len(v.run) < 2 or v.run.id != v.runs.get(lesson.steps[i].run):
        return
    key = f"lesson_snapshot_{lesson.name}_{i}"
    st.session_state[key] = v.snapshot  # mirrors the sidebar's slider: one position, kept under its key
    st.slider("Training time (snapshot)", 0, len(v.run) - 1, key=key, on_change=_moved, args=(key,))
    st.caption("The same slider as the sidebar's: 0 is the untrained network, the right end the last snapshot.")


def _moved(key: str) -> None:
    show_snapshot(st.session_state[key])


def _panel(lesson: Lesson, i: int) -> None:
    """The step in a bordered box; while its check waits, a fragment looks again every second (a page's own
    fragment, such as the walk-through's sample picker, changes the view without rerunning the app)."""
    step, mine = lesson.steps[i], progress(lesson.name)
    with st.container(border=True, key="lesson_panel"):
        if st.session_state.pop(SCROLL_KEY, False):
            _bring_into_view(lesson, i)
        # A slider check needs no looking: both training-time sliders rerun the app. A fragment ticking meanwhile
        # sent the sidebar slider's old value back while the box's new one was on its way, and undid it.
        if step.check is not None and i not in mine["checked"] and not step.asks_slider:
            st.fragment(run_every=CHECK_EVERY)(_body)(lesson, i, polling=True)
        else:
            _body(lesson, i)


def _bring_into_view(lesson: Lesson, i: int) -> None:
    """Scroll the step's box to the top of the window once, when the step opens (Start sits low on Lessons)."""
    st.html(
        f"<script>/* {lesson.name} step {i + 1} */ (() => {{"
        "const go = () => document.querySelector('.st-key-lesson_panel')"
        "?.scrollIntoView({block: 'start', behavior: 'instant'});"
        "go(); requestAnimationFrame(go); setTimeout(go, 250); setTimeout(go, 700);"
        "})();</script>",
        unsafe_allow_javascript=True,
    )


def _body(lesson: Lesson, i: int, polling: bool = False) -> None:
    step, n, mine = lesson.steps[i], len(lesson.steps), progress(lesson.name)
    v = view(lesson, i)
    header = st.empty()  # filled last: the count of steps done includes this one once its answer shows
    st.markdown(step.text)
    ready = step.run in v.runs
    if not ready:
        job_registry().warm()  # a training is likely: have a worker process ready
    here = v.page == step.page and ready and v.run is not None and v.run.id == v.runs[step.run]
    if step.check is not None and i not in mine["checked"] and ready and passed(step.check, v):
        mine["checked"].add(i)  # looked at first, so that the whole box (question, answer) says it at once
        if polling:
            st.rerun(scope="app")  # done: draw the answer, and stop looking
    checked = step.check is None or i in mine["checked"]
    answered = step.question is None or i in mine["guesses"]
    if step.question is not None:  # predict first, before the button that shows the answer's run
        _question(lesson, i, mine, v.runs, checked and answered and ready)
    if step.asks_slider:
        _slider(lesson, i, v)
    _setup_button(lesson, i, v, ready, here)
    if step.check is not None:
        words = describe(step.check) if isinstance(step.check, dict) else CHECKS[step.check].doc
        icon = ":green[:material/check_circle:] Done" if i in mine["checked"] else ":material/pending: To do"
        st.markdown(f"{icon}: {words}.")
    revealed = checked and answered and ready
    if revealed and (text := answer(lesson, i, v.runs)) is not None:
        mine["done"].add(i)
        st.info(text, icon=":material/lightbulb:")
    c = st.columns([1.2, 1.2, 1, 3])
    if c[0].button("Previous step", key="lesson_back", icon=":material/arrow_back:", disabled=i == 0):
        _go(i - 1)
    ahead = "primary" if i in mine["done"] else "secondary"  # the way on, once this step is done
    if i + 1 < n and c[1].button("Next step", key="lesson_next", icon=":material/arrow_forward:", type=ahead):
        _go(i + 1)
    if c[2 if i + 1 < n else 1].button("Leave", key="lesson_leave", icon=":material/logout:"):  # no gap at the end
        leave()
        st.rerun()
    if len(mine["done"]) == n:
        c[3].success("Lesson complete: every step done.", icon=":material/celebration:")
    header.markdown(
        f":material/school: **{lesson.title}** · step {i + 1} of {n}: **{step.title}** "
        f"· {len(mine['done'])} of {n} done"
    )


def _go(i: int) -> None:
    """Open step `i` (0-based) of the running lesson, scrolled into view."""
    st.session_state[STEP_KEY], st.session_state[SCROLL_KEY] = i, True
    st.rerun(scope="app")


def _focus_style(lesson: Lesson) -> None:
    hidden = [f".st-key-{key}" for control, key in HIDE.items() if control not in lesson.sidebar]
    if hidden:
        st.html(f"<style>{', '.join(hidden)} {{display: none;}}</style>")


def run(nav) -> None:
    """Run the page, then draw the lesson's step in a slot above it (also when the page stopped early)."""
    slot = st.container()
    try:
        nav.run()
    except PageEnd:  # the page said why it ends early: the step is drawn all the same
        pass
    except StopException:  # st.stop(): Streamlit draws nothing more after it (pages call end_page() instead)
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
