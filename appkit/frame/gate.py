"""What every analysis page starts with: the run gate and one call for its run, data, snapshot and class names.

`context = appkit.page("classes", "its class averages")` passes the run gate (a run, a network nnlab can rebuild,
a view this kind has, its data) and returns a `PageContext`; when there is nothing the page can show it says why
(no run yet: a quick start; the run gone; its data gone) and stops the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

from appkit.caches import network_points, run_dataset
from appkit.frame import navigation
from appkit.session import current
from appkit.training import jobs
from nnlab.analysis import views
from nnlab.data import Dataset
from nnlab.runs import Run


class PageEnd(Exception):
    """The page has said why it ends here (`end_page()`); the router ends the script as if the page had run to its
    end, so the running lesson's step is still drawn above it (after `end_page()` Streamlit draws nothing more)."""


def end_page() -> NoReturn:
    """End the page here, after it said why (instead of `end_page()`, which would also hide the lesson's step)."""
    raise PageEnd


@dataclass(frozen=True)
class PageContext:
    """What an analysis page works on: the sidebar's run at the sidebar's snapshot, and its data."""

    run: Run
    data: Dataset | None  # None for a page that does not need the samples
    k: int  # the snapshot index the training-time slider points at
    names: list[str]  # class names

    def __iter__(self):
        """`run, ds, k, names = ctx`: what a page unpacks first."""
        return iter((self.run, self.data, self.k, self.names))

    @property
    def snapshot(self) -> dict:
        return self.run.snapshots[self.k]

    @property
    def step(self) -> int:
        return self.run.snapshots[self.k]["step"]

    @property
    def kind(self):
        return self.run.model_kind


def page(
    view: str,
    what: str,
    *,
    title: str | None = None,
    intro: str | None = None,
    over_time: str | None = None,
    needs_data: bool = True,
    needs_model: bool = True,
) -> PageContext:
    """The header, gate and preamble of an analysis page; shows why and stops when there is nothing it can show.

    Args:
        title, intro: the page's title and its opening paragraph (Markdown), drawn first.
        over_time: the intro's last sentence, on moving through training time: left out for a run that has no
            training history (a pretrained network).
        view: the page's view name (`nnlab.models.VIEWS`): a kind that skips it gets one sentence instead.
        what: ends "… so <what> cannot be shown" when the run's data is gone.
        needs_data: load the run's dataset (normalised as in training).
        needs_model: the run must hold a network nnlab can rebuild (not your own module).
    """
    if title:
        st.title(title)
    if intro:
        shown = current.current_run()
        history = over_time and (shown is None or shown.has_history)
        st.markdown(f"{intro} {over_time}" if history else intro)
    run = require_run(needs_model=needs_model)
    kind = run.model_kind
    reason = kind.skip_reason(view) if kind is not None else None
    if reason:
        st.info(f"This page does not apply to a {kind.title} run: {reason}", icon=":material/info:")
        end_page()
    needs = views.missing(view, network_points(run)) if kind is not None else None  # Home's rule too
    if needs:
        name = next((e.title for e in navigation.ENTRIES if e.view == view), "This page")
        st.info(f"{name} {needs}.", icon=":material/info:")
        end_page()
    ds = require_run_data(what)[1] if needs_data else None
    names = list(run.class_names or (ds.class_names if ds is not None else []))
    return PageContext(run, ds, current.current_snapshot(run), names)


def require_run(*, needs_model: bool = True) -> Run:
    """The current run, or a friendly empty state with a quick start, then `end_page()`."""
    run = current.current_run()
    if run is not None and len(run) > 0 and (not needs_model or run.model_config is not None):
        return run
    if run is None and current.gone():
        st.warning(current.gone_words(), icon=":material/delete:")
        end_page()
    if run is not None and needs_model and run.model_config is None:
        st.info(
            "This run was recorded from a custom PyTorch model, so this page cannot rebuild it. "
            "The Train page and the weight views still work."
        )
    else:
        st.info("There is no run to look at yet. Train a small network on two moons in a few seconds:")
        jobs.quick_start_button("empty_quick")
    end_page()


def require_run_data(what: str) -> tuple[Run, Dataset]:
    """`require_run()` and the data it was trained on; if that data is gone, say so and what to do, then stop.

    `what` ends the sentence "… so <what> cannot be shown".
    """
    run = require_run()
    try:
        return run, run_dataset(run)
    except (OSError, ValueError, KeyError) as e:  # a download missing here, a data file moved, renamed or deleted
        e = e.args[0] if isinstance(e, KeyError) and e.args else e  # str(KeyError) would quote its message
        st.error(
            f"The data this run was trained on (**{run.data_config.name}**) cannot be loaded, so {what} cannot "
            f"be shown: {e}\n\nPut the dataset back (the Datasets page downloads the built-in ones), or pick "
            "another run in the sidebar.",
            icon=":material/error:",
        )
        end_page()
