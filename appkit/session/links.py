"""Links that reproduce a view: the run and snapshot in the address, each page's choices bound to it, a box to copy.

The sidebar keeps `?run=<id>&snapshot=<k>` in the address on every page; a page keeps its own choices with
`pick`/`number`/`flag` (a widget whose value is seeded from the address and written back to it, under a short
parameter name). A link opened in a fresh browser seeds the same widgets. A value that no longer fits (a deleted
run, a snapshot or sample out of range, text where a number belongs, an unknown layer) gives one short notice and
the default, never an exception. Drawn and uploaded inputs stay out of links: they may be private.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import urlencode, urlsplit

import streamlit as st

RUN, SNAPSHOT = "run", "snapshot"  # the address's parameters for the sidebar's run and training-time slider
WRITTEN = "app_link_written"  # prefix of the session-state key below
SENT = WRITTEN + "_params"  # parameter → the values this session put in the address (or took from it), oldest first
SENT_MAX = 64  # values kept per parameter (only those the browser may not have seen yet matter)
NOTICED = "app_link_noticed"  # parameters already reported as stale, so each is said once
PAGE_PATH = "app_page_path"  # the current page's url path, kept by streamlit_app.py


def _sent(param: str, value: str) -> None:
    """Note a value this session put in the address, or took from it (so it is not taken again)."""
    values = st.session_state.setdefault(SENT, {}).setdefault(param, [])
    if not values or values[-1] != value:
        values.append(value)
        del values[:-SENT_MAX]


def _echo(param: str, raw: str) -> bool:
    """Whether the address's `raw` is this session's own value coming back, perhaps an older one.

    A browser's request can leave before this session's newest write reaches it (a fragment's timer firing while
    the page reruns, a click during a run), so it carries an older address; taken as a link, that old address
    would pull the view back (a page following a live run would stop at the snapshot the echo names). The
    browser sees the writes in order, so the ones before `raw` are behind it and are forgotten.
    """
    values = st.session_state.get(SENT, {}).get(param)
    if not values or raw not in values:
        return False
    del values[: values.index(raw)]
    return True


def notice(param: str, raw: str, why: str) -> None:
    """Say once per session that a link's parameter could not be used."""
    seen = st.session_state.setdefault(NOTICED, set())
    if (param, raw) not in seen:
        seen.add((param, raw))
        text = f"This link's {param} `{raw[:40]}` {why}, so the page shows its default."
        st.warning(text, icon=":material/link_off:")


def incoming(param: str) -> str | None:
    """The address's value of `param` if it came from outside (a link, a lesson), not from this session's own writes."""
    raw = st.query_params.get(param)
    if raw is None or _echo(param, raw):
        return None
    _sent(param, raw)  # each incoming value is taken (or refused) once
    return raw


def keep(param: str, value) -> None:
    """Keep a value of this view in the address (for a parameter no widget is bound to)."""
    st.query_params[param] = str(value)
    _sent(param, str(value))


def incoming_int(param: str, low: int, high: int, *, what: str) -> int | None:
    """An incoming whole number in `low..high`, or None (with a notice when it was there but did not fit)."""
    raw = incoming(param)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        notice(what, raw, "is not a whole number")
        return None
    if not low <= value <= high:
        notice(what, raw, f"is outside {low}..{high}")
        return None
    return value


def choice(key: str, options: Sequence, param: str, *, what: str) -> None:
    """Before an option widget: an incoming option (by its plain name) becomes the session's value; else a notice."""
    raw = incoming(param)
    if raw is None:
        return
    by_name = {str(o): o for o in options}
    if raw in by_name:
        st.session_state[key] = by_name[raw]
    else:
        notice(what, raw, "is not one of this page's options here")


def pick(widget: Callable, label: str, options: Sequence, *, key: str, param: str, what: str, **kwargs):
    """`widget(label, options, key=key, **kwargs)` (a selectbox, radio, segmented control, select slider...) whose
    value is kept in the address as `param`."""
    choice(key, options, param, what=what)
    value = widget(label, options, key=key, **kwargs)
    keep(param, value)
    return value


def number(widget: Callable, label: str, low: int, high: int, *, key: str, param: str, what: str, **kwargs):
    """`widget(label, low, high, key=key, **kwargs)` (a number input or slider of whole numbers), kept as `param`."""
    linked = incoming_int(param, low, high, what=what)
    if linked is not None:
        st.session_state[key] = linked
    value = widget(label, low, high, key=key, **kwargs)
    keep(param, value)
    return value


def flag(widget: Callable, label: str, *, key: str, param: str, **kwargs) -> bool:
    """`widget(label, key=key, **kwargs)` (a toggle or checkbox), kept as `param` ("1" or "0")."""
    raw = incoming(param)
    if raw in ("0", "1"):
        st.session_state[key] = raw == "1"
    elif raw is not None:
        notice("switch", raw, "is neither 1 nor 0")
    value = bool(widget(label, key=key, **kwargs))
    keep(param, int(value))
    return value


def run_link(ids: list[str]) -> tuple[str, int | None] | None:
    """A run and snapshot in the address that this session did not write (a link, a lesson), to become current.

    Returns (run id, snapshot or None) once per new address; None for this session's own address coming back, or a
    run not among `ids` (with a notice)."""
    raw_run, raw_snap = st.query_params.get(RUN), st.query_params.get(SNAPSHOT)
    if raw_run is None:
        return None
    new_run = not _echo(RUN, raw_run)
    new_snap = raw_snap is not None and not _echo(SNAPSHOT, raw_snap)
    if not (new_run or new_snap):  # this session's own address (perhaps an older one) coming back
        return None
    _sent(RUN, raw_run)  # taken once, whatever happens below
    if raw_snap is not None:
        _sent(SNAPSHOT, raw_snap)
    if raw_run not in ids:
        notice("run", raw_run, "is not on this server (it was deleted, renamed, or belongs to someone else)")
        return None
    snapshot = None
    if raw_snap is not None:
        try:
            snapshot = int(raw_snap)
        except ValueError:
            notice("snapshot", raw_snap, "is not a whole number")
    return raw_run, snapshot


def check_snapshot(k: int | None, n: int) -> None:
    """After adopting a link: a snapshot beyond the run's last gets a notice (the sidebar then shows the last)."""
    raw = st.query_params.get(SNAPSHOT)
    if raw is not None and k is not None and k >= n and k != 10**9:
        notice("snapshot", raw, f"is beyond this run's last snapshot ({n - 1})")


def write_run_link(run_id: str | None, snapshot: int | None) -> None:
    """Keep the current run and snapshot in the address (every rerun, on every page).

    `snapshot` None (a page following a run while it trains) leaves it out: the link opens the newest snapshot,
    and the address stays the same while the page follows (the browser adds a history entry per change of it,
    so Back would otherwise step through every snapshot drawn)."""
    if run_id is None:
        return
    keep(RUN, run_id)
    if snapshot is None:
        st.query_params.pop(SNAPSHOT, None)
    else:
        keep(SNAPSHOT, snapshot)


def view_link() -> str:
    """The address of this view: the page, the run, the snapshot and the page's bound choices."""
    parts = urlsplit(str(st.context.url or ""))  # the browser's address (its path may already be this page's)
    path = st.session_state.get(PAGE_PATH, "")
    query = urlencode(dict(st.query_params))
    return f"{parts.scheme}://{parts.netloc}/{path}" + (f"?{query}" if query else "")


def link_box() -> None:
    """A small "Link to this view" box with the address to copy (and a word when an own input stays out)."""
    with st.popover("Link to this view", icon=":material/link:"):
        st.code(view_link(), language=None, wrap_lines=True)
        live = RUN in st.query_params and SNAPSHOT not in st.query_params  # a page following a run that trains
        st.caption(
            (
                "The run is still training and this page follows it, so the link opens its newest snapshot when it "
                "is opened (move the training-time slider to link one snapshot). It keeps the run and settings"
                if live
                else "Opens this page at the same run, snapshot and settings"
            )
            + ", in any browser that can reach this server. A drawing or an uploaded image is never put in a link: "
            "it may be private, so it stays in this browser."
        )
