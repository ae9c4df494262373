"""Who is at this browser: the student (or teacher) each session acts for, and which runs and jobs they see.

At the base of `appkit.session` (it imports only `nnlab`). A student is `st.user` when Streamlit's authentication is
configured and they logged in (an id hashed from their email or subject: no name is stored); else an anonymous id
kept in a cookie (`nnlab_id`), read from `st.context.cookies` and set by a line of JavaScript in the page (`st.html`),
so it lasts across reloads in that browser. Not a component: one reports back to the server, and the rerun that
starts can undo a page link the student clicked meanwhile. AppTest has no browser: there the id lives
for the session, and a test sets `st.session_state[IDENTITY_KEY]` to act as someone. A teacher token in
`st.secrets` (`[nnlab] teacher_token`), entered once in the sidebar, makes the session the teacher's. The rules
themselves are `nnlab.runs.owners`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid

import streamlit as st

from nnlab.runs import Run, Viewer
from nnlab.runs.owners import SHARED_WITH_YOU, YOURS, can_see, may_change, relation

IDENTITY_KEY = "app_identity"  # session-state key: this session's owner id (set it in a test to act as someone)
TEACHER_KEY = "app_teacher"  # True once this session entered the teacher token
TOKEN_KEY = "app_teacher_token"  # the sidebar's token box
COOKIE = "nnlab_id"  # the anonymous id's cookie
COOKIE_DAYS = 365
ANON_RE = re.compile(r"[0-9a-f]{24}")


def _logged_in_user() -> str | None:
    """An id from `st.user` when authentication is configured and the user logged in (a hash: no name kept)."""
    try:
        user = st.user
        if not user.get("is_logged_in"):
            return None
        key = user.get("email") or user.get("sub")
    except Exception:  # no script context, or a Streamlit without st.user
        return None
    return "u" + hashlib.sha256(str(key).encode()).hexdigest()[:23] if key else None


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE)
    except Exception:  # AppTest and bare mode have no request
        return None
    return value if isinstance(value, str) and ANON_RE.fullmatch(value) else None


def identity() -> str:
    """This session's owner id: a logged-in user's, else the browser's cookie, else a new one (kept by `keep()`)."""
    who = _logged_in_user()
    if who is not None:
        st.session_state[IDENTITY_KEY] = who
        return who
    who = st.session_state.get(IDENTITY_KEY)
    if who:
        return who
    who = _cookie() or uuid.uuid4().hex[:24]
    st.session_state[IDENTITY_KEY] = who
    return who


def keep() -> None:
    """Ask the browser to keep this session's anonymous id (a cookie), if it does not already send it.

    The id is 24 hex digits (`ANON_RE`), so it goes into the script as it is; the browser sends it from its next
    connection on, so the element stays (unchanged, not run again) for the rest of this session."""
    who = identity()
    if not ANON_RE.fullmatch(who) or _cookie() == who:
        return
    age = COOKIE_DAYS * 24 * 3600
    st.html(
        f'<script>document.cookie = "{COOKIE}={who}; max-age={age}; path=/; samesite=lax";</script>',
        unsafe_allow_javascript=True,
    )


def _teacher_token() -> str | None:
    try:
        section = st.secrets.get("nnlab") or {}
        token = section.get("teacher_token")
    except Exception:  # no secrets file
        return None
    return str(token) if token else None


def is_teacher() -> bool:
    return bool(st.session_state.get(TEACHER_KEY)) and _teacher_token() is not None


def viewer() -> Viewer:
    """Who this session is: its id, whether the teacher, and (no teacher on this server) keeper of ownerless runs."""
    return Viewer(identity(), teacher=is_teacher(), keeper=_teacher_token() is None)


def _check_token() -> None:
    token, given = _teacher_token(), st.session_state.get(TOKEN_KEY, "")
    st.session_state[TEACHER_KEY] = bool(token and given and hmac.compare_digest(given.encode(), token.encode()))
    st.session_state[TOKEN_KEY] = ""  # not kept in the box
    if not st.session_state[TEACHER_KEY] and given:
        st.session_state["app_teacher_wrong"] = True


def account_box() -> None:
    """The sidebar's who-am-I: log in or out (with authentication configured), and the teacher's token box."""
    try:
        auth = st.user.get("is_logged_in")
    except Exception:
        auth = None
    if auth is True:
        name = st.user.get("name") or st.user.get("email") or "you"
        st.caption(f"Signed in as {name}: you see your own runs and the shared ones.")
        st.button("Log out", key="app_logout", on_click=st.logout)
    elif auth is False:
        st.caption("Log in to keep your runs wherever you open nnlab.")
        st.button("Log in", key="app_login", on_click=st.login)
    if _teacher_token() is None:
        return
    if is_teacher():
        st.caption(":material/school: **Teacher**: you see every run and training, and can share and stop them.")
        st.button("Leave teacher mode", key="app_teacher_leave", on_click=st.session_state.pop, args=(TEACHER_KEY,))
        return
    with st.expander("Teacher", icon=":material/school:"):
        st.text_input("Teacher token", key=TOKEN_KEY, type="password", on_change=_check_token)
        if st.session_state.pop("app_teacher_wrong", False):
            st.caption("That is not the teacher token.")


# --- runs and jobs as this viewer sees them --------------------------------------------------------------------
def joined_runs(registry) -> set[str]:
    """Runs of jobs this viewer asked for or joined (seen before their manifest says so: while training)."""
    return {j.run_id for j in registry.visible(viewer()) if j.run_id}


def visible(runs: list[Run], registry) -> list[Run]:
    """The runs this session may see: its own, the shared ones, those shared with it, and what its jobs train."""
    v, joined = viewer(), joined_runs(registry)
    return [r for r in runs if can_see(r.manifest, v) or r.id in joined]


def whose_all(runs: list[Run]) -> dict[str, str]:
    """Each run's "yours", "shared", "shared with you" or, for the teacher, "a student's", by id (of runs that
    `visible` let through: one whose manifest hides it from a student is a training they joined, shared with them)."""
    v = viewer()
    return {r.id: relation(r.manifest, v) or SHARED_WITH_YOU for r in runs}


def whose(run: Run) -> str:
    return whose_all([run])[run.id]


def labels(runs: list[Run]) -> dict[str, str]:
    """Each run's name in a picker, by id, marked ("moons-… · shared") unless it is yours: for a student, a run
    they may not change; for the teacher, any run not their own. (On a server without a teacher, runs without an
    owner are everyone's to change, so they are not marked.)

    Pickers use `format_func=labels(runs).get`: a format function must not read the session (AppTest calls it
    outside the script)."""
    v, rel = viewer(), whose_all(runs)
    plain = {r.id for r in runs if rel[r.id] == YOURS or (not v.teacher and may_change(r.manifest, v))}
    return {i: i if i in plain else f"{i} · {w}" for i, w in rel.items()}


def mine(run: Run) -> bool:
    """Whether this session may rename, delete or (while it trains) stop the run."""
    return may_change(run.manifest, viewer())


def runs_table(runs: list[Run], table):
    """`table(runs)` (`pickers.runs_table.runs_table`) with a "whose" column after the name: yours, shared, shared
    with you."""
    df, rel = table(runs), whose_all(runs)
    df.insert(1, "whose", [rel[r.id] for r in runs])
    return df
