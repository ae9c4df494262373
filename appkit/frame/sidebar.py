"""The shared sidebar on every page: who you are, the current run with its training-time slider, a training in the
background, and the link to this view.

`streamlit_app.py` calls `sidebar(pages)` on every rerun, before the page. The run picker and its session keys
belong to `appkit.session.current`; the page gate that reads the run is `appkit.frame.gate`.
"""

from __future__ import annotations

import streamlit as st

from appkit.frame import navigation
from appkit.session import current, links, owner
from appkit.training import form, jobs


def sidebar(pages: dict | None = None) -> None:
    """The shared sidebar: who you are, the current run and the training-time slider every analysis page follows."""
    if pages is not None:
        navigation.remember(pages)
    jobs.adopt_finished_quick_start()
    with st.sidebar:
        owner.account_box()
        st.markdown("**Current run**")  # the picker's selectbox has no label of its own: this is it
        run = current.picker()
        _training_note()
        if run is not None:
            links.link_box()
        owner.keep()  # last: on a browser's first visit its cookie's (invisible) component sits at the bottom


def _training_note() -> None:
    job = form.session_job()
    if job is not None and job.alive:
        st.caption(f"Training in the background: {job.label} · {job.live.view().fraction:.0%}")
        st.page_link(navigation.page_file("train"), label="Watch it on the Train page", icon=":material/monitoring:")
