"""The app's pages, listed once: the router builds its navigation from here, and tests and benches import it.

Each entry names its script in `app_pages/`, its title (also the browser tab's: "Attention · nnlab"), its icon and,
for a page that looks inside a run, the view it shows (`nnlab.analysis.views`), so Home can offer only the views
that fit the current run. Three sections, all open: at 1280×800 every page is in the sidebar without unfolding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from appkit.caches import network_points
from appkit.session import current
from nnlab.analysis.views import why_not
from nnlab.runs import Run

PAGES_KEY = "app_pages"  # the navigation's pages by section, as the router made them (for "Look inside")
APP_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PageEntry:
    name: str  # the script app_pages/<name>.py, and the page's address
    title: str  # the sidebar's label and the tab's title
    icon: str
    view: str | None = None  # the view it shows of a run (nnlab.analysis.views.VIEW_NEEDS), None for the others


START, INSIDE, OVER_TIME = "Start", "Inside the network", "Over training"
SECTIONS: dict[str, tuple[PageEntry, ...]] = {
    START: (
        PageEntry("home", "Home", ":material/home:"),
        PageEntry("lessons", "Lessons", ":material/school:"),
        PageEntry("datasets", "Datasets", ":material/dataset:"),
        PageEntry("train", "Train", ":material/model_training:"),
        PageEntry("runs", "Runs", ":material/folder_open:"),
    ),
    INSIDE: (
        PageEntry("walkthrough", "Layer walk-through", ":material/layers:", "walkthrough"),
        PageEntry("backprop", "Backpropagation", ":material/undo:", "backprop"),
        PageEntry("class_averages", "Class averages", ":material/category:", "classes"),
        PageEntry("attribution", "Attribution", ":material/center_focus_strong:", "attribution"),
        PageEntry("hidden", "Hidden layers", ":material/bubble_chart:", "hidden"),
        PageEntry("latent", "Latent space", ":material/scatter_plot:", "latent"),
        PageEntry("attention", "Attention", ":material/visibility:", "attention"),
        PageEntry("units", "Units", ":material/neurology:", "units"),
        PageEntry("features", "Features", ":material/auto_awesome:", "features"),
        PageEntry("photo", "Your photo", ":material/photo_camera:"),
    ),
    OVER_TIME: (
        PageEntry("weights", "Weight evolution", ":material/grid_on:", "weights"),
        PageEntry("boundary", "Decision boundary", ":material/timeline:", "boundary"),
        PageEntry("compare", "Compare runs", ":material/compare_arrows:", "compare"),
    ),
}
ENTRIES: tuple[PageEntry, ...] = tuple(e for section in SECTIONS.values() for e in section)
LOOK_INSIDE_SECTION = INSIDE  # where "Look inside" goes after training


def page_file(name: str) -> str:
    """The page script `app_pages/<name>.py` as an absolute path, for `st.Page`, `st.page_link` and `st.switch_page`.

    Streamlit resolves a relative page path from the entrypoint's folder. Absolute paths keep every link working
    whichever entrypoint started the app: `streamlit_app.py`, or `cloud/streamlit_app.py` on Community Cloud.
    """
    return str(APP_ROOT / "app_pages" / f"{name}.py")


def remember(pages: dict) -> None:
    """Keep the router's `st.Page`s by section for this session (the sidebar calls it on every rerun)."""
    st.session_state[PAGES_KEY] = pages


def pages_by_section() -> dict:
    """The router's `st.Page`s by section, as `remember` kept them (empty before the first rerun)."""
    return st.session_state.get(PAGES_KEY) or {}


def look_inside(run_id: str) -> None:
    """Make `run_id` the current run at its last snapshot and go to the first "Inside the network" page."""
    current.set_current_run(run_id)
    section = pages_by_section().get(LOOK_INSIDE_SECTION)
    if section:
        st.switch_page(section[0])
    st.rerun()


def tab_title(title: str) -> str:
    """The browser tab's title for a page: "Attention · nnlab"."""
    return f"{title} · nnlab"


def st_pages() -> dict[str, list[st.Page]]:
    """The navigation's `st.Page`s by section (Home is the default page)."""
    return {
        section: [st.Page(page_file(e.name), title=e.title, icon=e.icon, default=e.name == "home") for e in entries]
        for section, entries in SECTIONS.items()
    }


def views_for(run: Run) -> tuple[list[PageEntry], list[tuple[PageEntry, str]]]:
    """The pages whose view fits `run`, and the others with what each needs (words that follow its title)."""
    points = network_points(run) if run.model_kind is not None else []  # your own module declares no points
    fits, needs = [], []
    for entry in ENTRIES:
        if entry.view is None:
            continue
        reason = why_not(entry.view, run.model_kind, points)
        (fits.append(entry) if reason is None else needs.append((entry, reason)))
    return fits, needs


# The sidebar holds fifteen links and the current run with its training-time slider: slightly tighter links than
# Streamlit's keep the slider in sight at 800 px (a student drags it on every analysis page). Style only: it takes no
# room on the page.
_COMPACT = """<style>
[data-testid="stSidebarHeader"] { height: 2.5rem; margin-bottom: 0; padding-top: 0.5rem; padding-bottom: 0; }
[data-testid="stSidebarNavItems"] { padding-top: 0; padding-bottom: 0; }
[data-testid="stSidebarNavItems"] li { margin: 0; }
[data-testid="stSidebarNavLink"] { height: 1.375rem; min-height: 0; }
[data-testid="stNavSectionHeader"] { margin-top: 0.35rem; margin-bottom: 0; }
[data-testid="stSidebarNavSeparator"] { margin: 0.25rem 0 0; }
[data-testid="stSidebarUserContent"] { padding-top: 0.5rem; }
</style>"""


def compact_sidebar() -> None:
    """Tighten the sidebar's navigation so every page and the training-time slider fit a 1280×800 window."""
    st.html(_COMPACT)
