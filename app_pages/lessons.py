"""Lessons: a card per lesson file (title, what you learn, minutes, progress), and a broken file's card in words.

Reads `appkit.frame.lesson.catalogue()` (the built-in `lessons/` and `$NNLAB_LESSONS_DIR`, through `nnlab.lessons`);
Start runs a lesson: its current step then stays at the top of every page it visits (appkit/frame/lesson.py).
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame import lesson
from nnlab.lessons import FACTS, Lesson, load_lesson

st.title("Lessons")
st.markdown(
    "Short guided experiments, one idea each. A lesson asks you to **predict first**, sets up the run and the "
    "view with one button, checks that you did what it asked, and then answers **from your own run**: the "
    "numbers are what your network did, not a textbook's."
)

found = lesson.catalogue()
if not found:
    st.info("No lesson files were found. Put `*.toml` lessons in `lessons/` or in the folder `$NNLAB_LESSONS_DIR`.")
now = lesson.active()
cols = st.columns(2, gap="medium")
for n, item in enumerate(found):
    with cols[n % 2], st.container(border=True):
        if not isinstance(item, Lesson):
            st.markdown(f"**This lesson file cannot be used:** `{item.path}`")
            st.error(str(item), icon=":material/error:")
            continue
        mine = lesson.progress(item.name)
        done, total = len(mine["done"]), len(item.steps)
        st.subheader(f"{n + 1}. {item.title}", anchor=False)
        st.markdown(item.summary)
        st.caption(f":material/schedule: about {item.minutes} minutes · {total} steps · {done} of {total} done")
        st.progress(done / total)
        running = now is not None and now[0].name == item.name
        label = "You are in this lesson" if running else ("Continue" if done else "Start")
        if st.button(label, key=f"lessons_start_{item.name}", disabled=running, icon=":material/play_arrow:"):
            first_open = next((i for i in range(total) if i not in mine["done"]), 0)
            lesson.start(item.name, first_open)
            st.rerun()

st.subheader("Write your own", anchor=False)
st.markdown(
    "A lesson is one TOML file: a title, a summary, the minutes, the preset runs (the same settings as the "
    "**Train** page), and three to six steps, each with its text, page, optional question, check and answer. "
    "Drop it into the folder `$NNLAB_LESSONS_DIR` (default `lessons/`); the README documents the format with "
    "a complete example. A teacher's link `?lesson=NAME&step=K&focus=1` opens a lesson at a step and hides the "
    "pages it does not use."
)
with st.expander("The facts an answer can quote"):
    st.markdown("\n".join(f"- `{{{name}}}`: {f.doc}" for name, f in FACTS.items()))
    st.caption("Write `{fact@preset}` for another preset's run, and a format after a colon: `{zeros:.0%}`.")

appkit.show_code(load_lesson, lesson.setup)
