"""The Features page's glue: the SAEs saved in a run, training one as a background job (progress and Stop), the
per-feature numbers cached per SAE, the sortable list of features, and steering on the walk-through.

A sparse autoencoder is trained by the server's `JobRegistry` as a `FeaturesSpec` (`nnlab.analysis.sae.train_spec`
in a worker process), so leaving or reloading the page never stops it; the page finds it again by the session key.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from appkit.caches import MAX_JOBS, job_registry, network_points, run_cached, run_dataset, snapshot_model
from appkit.frame.notes import how_to_read
from appkit.session import owner
from nnlab.analysis import features, sae, units
from nnlab.figures import features as feature_figures
from nnlab.jobs import FeaturesSpec, JobsFull
from nnlab.runs import NotYours
from nnlab.threads import worker_threads

JOB = "features_job"  # session key: id of this session's features job
WIDTHS = (64, 128, 256, 512, 1024, 2048, 4096)
SORTS = {
    "frequency": "how often it fires",
    "purity": "class purity",
    "effect": "effect on the output",
}


def sae_points(run) -> list:
    """The points an SAE can read: hidden layers of units, channels, tokens, or a code."""
    return units.unit_points(network_points(run))


def saved(run, point: str, k: int) -> list[dict]:
    """The SAEs saved in the run for `point` at snapshot `k`, newest first."""
    return [e for e in sae.list_saes(run.folder) if e["point"] == point and e["snapshot"] == k]


def default_width(d: int) -> int:
    """Four features per value of the point, as a choice of WIDTHS (at least the point's width)."""
    return next((w for w in WIDTHS if w >= 4 * d), WIDTHS[-1])


def default_k(width: int) -> int:
    """Features active at once: one in 32 of them (8 of 256, as Gao et al.'s small runs), from 2 to 16."""
    return min(16, max(2, width // 32))


@st.cache_resource(max_entries=8, ttl=30 * 60)
def _load(folder: str, name: str, created: str):
    return sae.load_sae(Path(folder) / sae.FEATURES_DIR / name)


def load(run, entry: dict):
    """The saved SAE of `entry` (shared read-only; a retrained one of the same name has another `created`)."""
    return _load(str(run.folder), entry["name"], entry.get("created", ""))


@run_cached(max_entries=8, show_spinner="Reading the features over the evaluation subset…")
def feature_data(run, k: int, name: str, created: str):
    """(table, each feature's effect on the classes, neurons against features) of one saved SAE."""
    entry = next(e for e in sae.list_saes(run.folder) if e["name"] == name)
    m, _ = load(run, entry)
    ds, point = run_dataset(run), run.point(entry["point"])
    model = snapshot_model(run, k)
    x, idx, labels = units.eval_inputs(run, ds)
    table = features.feature_table(model, m, x, point, idx, labels)
    effects = features.logit_effects(model, m, x, table, point)
    comp = features.neurons_vs_features(table, m, max(len(run.class_names), int(labels.max()) + 1))
    return table, effects, comp


def feature_list(table, effects, comp, names, sort: str) -> pd.DataFrame:
    """One row per live feature, sorted by `sort` (a key of SORTS), strongest first."""
    share = (table.acts > 0).mean(0)
    rows = np.flatnonzero(share > 0)
    pur = comp.feature_purity[rows]
    top = features.purity(table.acts[:, rows], table.labels, max(len(names), 1))[1]
    data = {
        "feature": rows,
        "fires on": share[rows],
        "purity": pur,
        "top class": [names[c] if 0 <= c < len(names) else "–" for c in top],
    }
    if effects is not None:
        e = effects[rows]
        data["raises"] = [names[int(np.nanargmax(r))] if np.isfinite(r).all() else "–" for r in e]
        data["lowers"] = [names[int(np.nanargmin(r))] if np.isfinite(r).all() else "–" for r in e]
        data["effect"] = np.nanmax(np.abs(e), axis=1) if len(e) else e[:, 0]
    frame = pd.DataFrame(data)
    by = {"frequency": "fires on", "purity": "purity", "effect": "effect"}[sort]
    if by not in frame:
        by = "fires on"
    return frame.sort_values(by, ascending=False, kind="stable", na_position="last").reset_index(drop=True)


# --- training one: a background job ---------------------------------------------------------------------------------
def start(run, point: str, k: int, width: int, top_k: int) -> None:
    """Ask the server's job registry for an SAE on `point` at snapshot `k`; remember the job in the session."""
    wanted = sae.SaeSpec(point, k, width, top_k)
    try:
        wanted.check(sae.point_width(run.point(point)))  # in words, before a job starts
    except ValueError as e:
        st.warning(str(e), icon=":material/warning:")
        return
    spec = FeaturesSpec(str(run.folder), wanted, torch_threads=worker_threads(MAX_JOBS))
    try:
        job = job_registry().start(spec, f"features of {point}", owner=owner.identity(), viewer=owner.viewer())
    except (JobsFull, NotYours) as e:
        st.warning(str(e), icon=":material/hourglass_top:")
        return
    st.session_state[JOB] = job.id


def job_panel() -> bool:
    """This session's features job: its progress and Stop while it works, what happened once it ended. True while it
    is alive (the page polls)."""
    job = job_registry().get(st.session_state.get(JOB))
    if job is None:
        return False
    if job.alive:
        v = job.live.view()
        words = "waiting for a free slot…" if job.queued else v.words or "starting: reading the activations…"
        st.progress(v.fraction, text=f"Training {job.label}: {words}")
        if job.stop_requested:
            st.caption("Stopping…")
        elif job_registry().may_stop(job, owner.viewer()) and st.button(
            "Stop", key="features_stop", icon=":material/stop_circle:", help="End training now: nothing is saved."
        ):
            job_registry().stop(job.id, owner.viewer())
            st.rerun()
        return True
    if job.status == "complete":
        st.success(f"Trained and saved in the run: {job.live.view().words}", icon=":material/check_circle:")
    elif job.status in ("stopped", "cancelled"):
        st.info("Stopped: nothing was saved.", icon=":material/stop_circle:")
    else:
        st.error(f"Training the features failed: {job.error or job.message}", icon=":material/error:")
    return False


def progress_panel() -> None:
    """This session's features job, polled once a second while it works; the page reruns once when it has ended."""
    job = job_registry().get(st.session_state.get(JOB))
    alive = job is not None and job.alive

    @st.fragment(run_every=1.0 if alive else None)
    def panel() -> None:
        if not job_panel() and alive:
            st.rerun(scope="app")  # it has just ended: the page shows what it saved

    panel()


def split_words(comp, names, per_unit: str) -> str:
    """ "Unit 17 fires for 3 (40 %), 5 (30 %) and 8 (20 %); features 41, 88 and 203 each take one." """
    if comp.neuron < 0 or not comp.neuron_classes:
        return ""
    name = lambda c: names[c] if 0 <= c < len(names) else str(c)  # noqa: E731
    classes = [f"{name(c)} ({s:.0%})" for c, s in comp.neuron_classes]
    said = f"**{per_unit.capitalize()} {comp.neuron}**, the least pure, fires for " + _and(classes)
    taken = list(dict.fromkeys(f for _, f, _ in comp.splitters))
    if len(taken) > 1:
        return f"{said}; features {_and([str(f) for f in taken])} each take a part."
    if taken:
        return f"{said}; feature {taken[0]} carries most of it."
    return said + "."


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --- steering on the walk-through -----------------------------------------------------------------------------------
def steering_panel(run, k: int, names, x) -> None:
    """For the walk-through's sample `x` `(1, ...)`: switch one of a saved SAE's features off or scale it up, and
    see the class probabilities change. Nothing when the run has no SAE at this snapshot."""
    entries = [e for e in sae.list_saes(run.folder) if e["snapshot"] == k]
    if not entries or not names:
        return
    st.subheader("Steer a feature", anchor=False)
    labels = {e["name"]: f"{e['point']}: {e['width']} features, k = {e['k']}" for e in entries}
    name = st.selectbox("Sparse autoencoder", list(labels), format_func=labels.get, key="walk_steer_sae")
    entry = next(e for e in entries if e["name"] == name)
    m, _ = load(run, entry)
    point = run.point(entry["point"])
    found = features.steer(snapshot_model(run, k), m, x, point, 0, 1.0)
    if len(found.active) == 0:
        st.caption(f"No feature of this autoencoder fires on this sample at {point.name}.")
        return
    c1, c2 = st.columns(2)
    options = [int(f) for f in found.active]
    f = c1.selectbox(
        "Feature (those active on this sample, strongest first)",
        options,
        format_func=lambda f: f"feature {f} ({found.active_values[options.index(f)]:.2f})",
        key="walk_steer_feature",
    )
    factor = c2.slider("Scale it by", 0.0, 5.0, 0.0, 0.5, key="walk_steer_factor", help="0 switches it off.")
    s = features.steer(snapshot_model(run, k), m, x, point, int(f), float(factor))
    before, after = int(np.argmax(s.before)), int(np.argmax(s.after))
    said = "switched off" if factor == 0 else f"scaled by {factor:g}"
    change = "the prediction stays" if before == after else "the prediction changes from"
    st.markdown(
        f"With feature **{f}** {said}, {change} **{names[before]}**"
        + (f" to **{names[after]}**" if before != after else f" ({s.before[before]:.0%} → {s.after[before]:.0%})")
        + "."
    )
    st.plotly_chart(feature_figures.steering_figure(s, names), key="walk_steer_chart")
    how_to_read(
        "Grey bars: the network's class probabilities for this sample; green: the same with the feature's part of "
        f"{point.name} scaled (its value times its direction, the rest of the layer left as it is). A feature that "
        "carries the answer moves it when switched off; the Features page shows what each one responds to."
    )
