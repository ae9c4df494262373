"""Streamlit glue shared by the pages: cached loaders, the run and snapshot picker, the training jobs.

Sits between `nnlab` (which never imports streamlit) and `app_pages/*.py`. `streamlit_app.py`
calls `sidebar()`; pages call `require_run()` for the run the user picked and
`current_snapshot()` for the training-time slider's position. One `JobRegistry` per
server trains in the background (`job_registry()`), so leaving or reloading a page
never stops a run. Session-state keys here start with `app_` (or the page's prefix).
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import time
from pathlib import Path

import numpy as np
import streamlit as st
import torch

from nnlab.data import DataConfig, Dataset, data_dir, load_dataset
from nnlab.jobs import BackgroundTasks, Job, JobRegistry, JobsFull, JobSpec, worker_threads
from nnlab.runs import Run, RunError, list_runs, runs_dir

RUN_KEY = "app_run"  # session-state key: id (folder name) of the current run
SNAP_KEY = "app_snapshot"  # session-state key: index of the current snapshot
PENDING_KEY = "app_pending_run"  # (run id, snapshot or None) to select on the next rerun, before the widgets exist
SNAP_N_KEY = "app_snapshot_n"  # how many snapshots the current run had at the last rerun (to follow a growing run)
PAGES_KEY = "app_pages"  # the navigation's pages by section (for "Look inside")
QUICK_KEY = "app_quick_job"  # id of this session's quick-start job
TRAIN_JOB_KEY = "train_job"  # id of the job the Train page watches in this session
MAX_JOBS = int(os.environ.get("NNLAB_MAX_JOBS", "2"))  # trainings at once per server
LOOK_INSIDE_SECTION = "Inside the network"  # where "Look inside" goes after training

# Page work in this process gets one torch thread: training runs in worker processes (see nnlab.jobs) that use
# every core while the machine is idle and leave one to the app while it is not (nnlab.jobs.threads).
CORES = torch.get_num_threads()  # torch's default: what `python -m nnlab train` uses; a worker may use as many
torch.set_num_threads(1)


def runs_root() -> Path:
    return runs_dir()


# --- cached loaders ---------------------------------------------------------------------------------------------
@st.cache_resource(max_entries=32, show_spinner=False)
def _open_run(folder: str, stamp: float) -> Run:
    return Run(folder)


def open_run(run_id: str) -> Run | None:
    """The run `run_id` under the runs folder, shared read-only between sessions; None if unreadable."""
    folder = runs_root() / run_id
    try:
        stamp = (folder / "manifest.json").stat().st_mtime  # a run still training re-opens as it grows
        return _open_run(str(folder), stamp)
    except (OSError, RunError):
        return None


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _run_dataset(folder: str) -> Dataset:
    return Run(folder).dataset()


def run_dataset(run: Run) -> Dataset:
    """The run's dataset, normalised as it was for training (shared, read-only: never mutate it)."""
    return _run_dataset(str(run.folder))


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def _load_data(config_json: str, folder: str) -> Dataset:
    return load_dataset(DataConfig.from_dict(json.loads(config_json)))


def load_data(config: DataConfig) -> Dataset:
    """A dataset by config, shared between sessions (read-only: never mutate its arrays)."""
    return _load_data(json.dumps(config.to_dict(), sort_keys=True), str(data_dir().resolve()))


@st.cache_resource(show_spinner=False, on_release=lambda reg: reg.shutdown())
def job_registry() -> JobRegistry:
    """The server's training jobs (one registry for every session; jobs outlive pages and sessions)."""
    return JobRegistry(MAX_JOBS, spare=os.environ.get("NNLAB_SPARE_WORKER", "1") != "0")


@st.cache_resource(show_spinner=False)
def background_tasks() -> BackgroundTasks:
    """The server's slow analyses (t-SNE, UMAP) running in threads, their results kept by key."""
    return BackgroundTasks(workers=1)


# --- the current run ----------------------------------------------------------------------------------------------
def run_ids() -> list[str]:
    return [r.id for r in list_runs(runs_root()) if len(r) > 0]


def set_current_run(run_id: str, snapshot: int | None = None) -> None:
    """Make `run_id` the current run (at `snapshot`, default the last) from the next rerun on; then st.rerun()."""
    st.session_state[PENDING_KEY] = (run_id, snapshot)


def _adopt_finished_quick_start() -> None:
    job = job_registry().get(st.session_state.get(QUICK_KEY))
    if job is not None and not job.alive:
        st.session_state.pop(QUICK_KEY, None)
        if job.run_id and job.status != "failed":
            st.session_state[PENDING_KEY] = (job.run_id, None)


def sidebar(pages: dict | None = None) -> None:
    """The shared sidebar: the current run and the training-time slider every analysis page follows."""
    if pages is not None:
        st.session_state[PAGES_KEY] = pages
    _adopt_finished_quick_start()
    ids = run_ids()
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending and pending[0] in ids:
        st.session_state[RUN_KEY] = pending[0]
        st.session_state.pop(SNAP_N_KEY, None)
        st.session_state[SNAP_KEY] = pending[1] if pending[1] is not None else 10**9
    with st.sidebar:
        st.markdown("### Current run")
        if not ids:
            st.caption("No runs yet. Train one on the **Train** page, or use the quick start on **Home**.")
            st.session_state.pop(RUN_KEY, None)
            _training_note()
            return
        if st.session_state.get(RUN_KEY) not in ids:
            st.session_state[RUN_KEY] = ids[0]
        run_id = st.selectbox("Run", ids, key=RUN_KEY, help="Every analysis page shows this run.")
        run = open_run(run_id)
        if run is None or len(run) == 0:
            st.warning("This run cannot be read.")
            return
        n = len(run)
        snap = st.session_state.get(SNAP_KEY, n - 1)
        if st.session_state.get(SNAP_N_KEY) is not None and snap == st.session_state[SNAP_N_KEY] - 1:
            snap = n - 1  # it was at the end of a growing run: follow the end
        st.session_state[SNAP_KEY] = max(0, min(snap, n - 1))
        st.session_state[SNAP_N_KEY] = n
        if n > 1:
            st.slider(
                "Training time (snapshot)",
                0,
                n - 1,
                key=SNAP_KEY,
                help="Scrub through training: 0 is the untrained network, the right end is the last snapshot.",
            )
        info = run.snapshots[st.session_state[SNAP_KEY]]
        st.caption(
            f"Step {info['step']} · epoch {info['epoch']:.2f} · accuracy {info['eval_acc']:.1%} · status: {run.status}"
        )
        _training_note()


def _training_note() -> None:
    job = job_registry().get(st.session_state.get(TRAIN_JOB_KEY))
    if job is not None and job.alive:
        st.caption(f"Training in the background: {job.label} · {job.live.view().fraction:.0%}")
        st.page_link("app_pages/train.py", label="Watch it on the Train page", icon=":material/monitoring:")


def current_run() -> Run | None:
    run_id = st.session_state.get(RUN_KEY)
    return open_run(run_id) if run_id else None


def current_snapshot(run: Run) -> int:
    return max(0, min(st.session_state.get(SNAP_KEY, len(run) - 1), len(run) - 1))


def require_run(*, needs_model: bool = True) -> Run:
    """The current run, or a friendly empty state with a quick start, then `st.stop()`."""
    run = current_run()
    if run is not None and len(run) > 0 and (not needs_model or run.model_config is not None):
        return run
    if run is not None and needs_model and run.model_config is None:
        st.info(
            "This run was recorded from a custom PyTorch model, so this page cannot rebuild it. "
            "The Train page and the weight views still work."
        )
    else:
        st.info("There is no run to look at yet. Train a small network on two moons in a few seconds:")
        quick_start_button("empty_quick")
    st.stop()


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
        st.stop()


def look_inside(run_id: str) -> None:
    """Make `run_id` the current run at its last snapshot and go to the first "Inside the network" page."""
    set_current_run(run_id)
    section = (st.session_state.get(PAGES_KEY) or {}).get(LOOK_INSIDE_SECTION)
    if section:
        st.switch_page(section[0])
    st.rerun()


# --- choosing a dataset ------------------------------------------------------------------------------------------
SOURCE_WORDS = {"built-in": "built in", "download": "downloaded once", "file": "your file", "plug-in": "plug-in"}
KIND_WORDS = {"points": "2-D points", "image": "images", "features": "features"}
OPTION_WIDGETS = {  # option → (label, min, max, step, help)
    "n_samples": ("Number of points", 100, 5000, 100, "How many points are generated (train and test together)."),
    "noise": ("Noise", 0.0, 1.0, 0.05, "How far points scatter from their ideal position: more noise, more overlap."),
    "n_classes": ("Classes", 2, 8, 1, "How many classes (arms or clusters)."),
}


def dataset_picker(prefix: str, *, default: str | None = None) -> DataConfig | None:
    """Dataset selectbox plus its generator options; None while a download is still needed (shown with a button)."""
    from nnlab.data import list_datasets

    table = list_datasets()
    names = list(table)
    key = f"{prefix}_dataset"
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else names[0]

    def label(n: str) -> str:
        return f"{n} · {KIND_WORDS.get(table[n].kind, table[n].kind)}, {SOURCE_WORDS.get(table[n].source, '')}"

    name = st.selectbox(
        "Dataset",
        names,
        key=key,
        format_func=label,
        help="Built-in sets work offline; MNIST, Fashion-MNIST and CIFAR-10 download once; "
        "your own .npz/.csv files in the data folder appear here too.",
    )
    info = table[name]
    if info.description:
        st.caption(info.description)
    try:
        params = inspect.signature(info.loader).parameters.items()
        defaults = {k: p.default for k, p in params if p.default is not inspect.Parameter.empty}
    except (TypeError, ValueError):  # a plug-in loader without a signature
        defaults = {}
    options = {}
    shown = [o for o in info.options if o in OPTION_WIDGETS]
    for col, opt in zip(st.columns(len(shown)) if shown else [], shown, strict=True):
        title, lo, hi, step, help_ = OPTION_WIDGETS[opt]
        cast = float if isinstance(step, float) else int
        value = min(max(cast(defaults.get(opt, lo)), cast(lo)), cast(hi))
        options[opt] = col.slider(
            title, cast(lo), cast(hi), value, cast(step), key=f"{prefix}_{name}_{opt}", help=help_
        )
    if info.source == "download" and not download_panel(name, prefix):
        return None
    options = {k: v for k, v in options.items() if v != defaults.get(k)}  # defaults left out: one config per set
    return DataConfig.make(name, **options)


def download_panel(name: str, prefix: str) -> bool:
    """True if `name` is in the data folder; else a download button with a progress bar (and False)."""
    try:
        dl = importlib.import_module("nnlab.data.download")  # the module (nnlab.data.download is also a function)
    except ImportError:
        st.warning("Downloads are not available in this version of nnlab.")
        return False
    if dl.is_cached(name):
        return True
    spec = dl.DOWNLOADS[name]
    size = sum(f.size or 0 for f in spec.files) / 1e6
    st.info(
        f"**{name}** is not in the data folder yet. Download it once (about {size:.0f} MB) into "
        f"`{dl.cache_folder(name)}`; after that it loads offline.",
        icon=":material/download:",
    )
    if st.button(f"Download {name}", key=f"{prefix}_download_{name}", icon=":material/download:"):
        bar = st.progress(0.0, text=f"Connecting to download {name}…")

        def progress(done: int, total: int | None, filename: str) -> None:
            frac = min(done / total, 1.0) if total else 0.0
            of = f" of {total / 1e6:.1f}" if total else ""
            bar.progress(frac, text=f"{filename}: {done / 1e6:.1f}{of} MB")

        try:
            dl.download(name, progress=progress)
        except dl.DownloadError as e:
            bar.empty()
            st.error(str(e).replace("\n", "  \n"), icon=":material/cloud_off:")
            return False
        st.rerun()
    return False


# --- slow analyses in the background ----------------------------------------------------------------------------
def background_result(key: tuple, fn, *args, what: str, hint: str = "", **kwargs):
    """`fn(*args, **kwargs)` computed in a background thread and kept under `key` (shared by every session).

    Returns the result once done; meanwhile shows a notice with the elapsed time that re-checks every second
    (the rest of the page stays usable), and returns None. A failure is shown with a "Try again" button.
    """
    tasks = background_tasks()
    task = tasks.submit(key, fn, *args, **kwargs)
    if task.status == "done":
        return task.result
    if task.status == "failed":
        st.error(f"{what} failed: {task.error}")
        if st.button("Try again", key=f"app_retry_{abs(hash(key))}"):
            tasks.forget(key)
            st.rerun()
        return None
    st.fragment(run_every=1.0)(_task_notice)(key, what, hint)
    return None


def _task_notice(key: tuple, what: str, hint: str) -> None:
    task = background_tasks().get(key)
    if task is None or task.status != "running":
        st.rerun()  # done (or forgotten): redraw the page with the result
    st.info(
        f"{what} is running in the background: {task.elapsed:.0f} s so far. {hint}", icon=":material/hourglass_top:"
    )


# --- training jobs ----------------------------------------------------------------------------------------------
def start_job(spec: JobSpec, label: str) -> Job | None:
    """Start a training job; on a full server show why and return None."""
    try:
        return job_registry().start(spec, label)
    except JobsFull as e:
        st.warning(str(e), icon=":material/hourglass_top:")
        return None


def job_spec(data: DataConfig, model=None, train=None, record=None, *, name: str | None = None) -> JobSpec:
    """A job spec writing into this app's runs folder and reading this app's data folder."""
    return JobSpec.make(
        data,
        model,
        train,
        record,
        root=runs_root(),
        name=name,
        data_dir=str(data_dir()),
        torch_threads=worker_threads(MAX_JOBS),
        max_threads=CORES,  # while nothing else runs on the machine (nnlab.jobs.threads)
    )


def progress_text(job: Job) -> str:
    """ "Epoch 2.4 of 5 · step 60 of 125 · 3 s left" for a running job."""
    v = job.live.view()
    if not v.started:
        return "Starting: loading the data and building the network…"
    total = v.total_steps / max(v.steps_per_epoch, 1)
    eta = f" · {v.eta:.0f} s left" if v.eta is not None else ""
    return f"Epoch {v.epoch:.1f} of {total:.0f} · step {v.step} of {v.total_steps}{eta}"


def training_panel(job_id: str, live: bool) -> None:
    """One job's live panel: progress, metrics, loss and accuracy curves and Stop; then what happened, and what next.

    The Train page runs it as a fragment a few times a second while the job is `live`; it reads only the job's in-memory
    metrics (never the session), so any number of tabs can watch one job.
    """
    from nnlab.figures.training import training_curves

    job = job_registry().get(job_id)
    if job is None:
        st.warning("The server no longer knows this training (it was restarted). Its run, if any, is on the Runs page.")
        return
    if live and not job.alive:
        st.rerun()  # it has just ended: redraw the whole page (sidebar, run list) once, without the timer
    v = job.live.view()
    st.markdown(f"**{job.label}**" + (f" → run `{job.run_id}`" if job.run_id else ""))
    if job.alive:
        st.progress(v.fraction, text=progress_text(job))
        if v.started:
            _metrics(v)
        if job.stop_requested:
            st.caption("Stopping after the current step…")
        elif st.button(
            "Stop",
            key="train_stop",
            icon=":material/stop_circle:",
            help="End training now; everything recorded so far is kept.",
        ):
            job.stop()
            st.caption("Stopping after the current step…")
    else:
        _outcome(job, v)
    if len(v.loss):
        fig = training_curves(
            v.loss,
            v.acc,
            v.epochs,
            steps_per_epoch=v.steps_per_epoch,
            total_epochs=v.total_steps / max(v.steps_per_epoch, 1),
        )
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
        how_to_read(
            "the faint blue line is the loss (left) and accuracy (right) of each training batch, the solid "
            "one their moving average; orange points are measured on the test split after each epoch. "
            "Training loss falling while test loss rises means the network memorises instead of learning."
        )


def _metrics(v) -> None:
    c = st.columns(4)
    recent = v.loss[-max(1, v.steps_per_epoch // 4) :]
    c[0].metric("Epoch", f"{v.epoch:.1f} / {v.total_steps / max(v.steps_per_epoch, 1):.0f}")
    c[1].metric("Training loss", f"{float(recent.mean()):.3f}" if len(recent) else "–")
    test = [e["test_acc"] for e in v.epochs if e.get("test_acc") is not None]
    c[2].metric("Test accuracy", f"{test[-1]:.1%}" if test else "after epoch 1")
    c[3].metric("Snapshots", f"{v.snapshots} / {v.planned_snapshots}")


def did_not_learn(loss, acc: float | None, n_classes: int, train) -> str | None:
    """Words for a finished run that did not learn (accuracy near chance, or a loss that blew up); else None."""
    finite = loss[np.isfinite(loss)]
    start = float(finite[: max(1, len(finite) // 50)].mean()) if len(finite) else 0.0
    exploded = len(finite) > 10 and float(finite.max()) > 10 * max(start, 0.1)
    guessing = acc is not None and n_classes > 1 and acc < 1.5 / n_classes
    if not (exploded or guessing):
        return None
    words = []
    if guessing:
        words.append(
            f"Test accuracy {acc:.0%} is what guessing scores with {n_classes} classes: the network did not learn."
        )
    if exploded:
        words.append(f"The loss jumped from {start:.2g} to {float(finite.max()):.2g} on the way: each step overshot.")
    if exploded or train.lr >= 0.1:
        words.append(f"The learning rate {train.lr:g} is probably too large: try {train.lr / 10:g} (or Adam).")
    else:
        words.append("Try more epochs, a wider network, or a learning rate 3× larger.")
    return " ".join(words)


def _outcome(job: Job, v) -> None:
    run = open_run(job.run_id) if job.run_id else None
    acc = run.final_accuracy if run is not None else None
    acc_text = f"test accuracy **{acc:.1%}**, " if acc is not None else ""
    if job.status == "complete":
        st.success(
            f"Finished: {acc_text}{v.snapshots} snapshots recorded in {v.elapsed:.0f} s.",
            icon=":material/check_circle:",
        )
        if run is not None and (advice := did_not_learn(v.loss, acc, len(run.class_names), run.train_config)):
            st.warning(advice, icon=":material/trending_down:")
    elif job.status == "stopped":
        st.info(
            f"Stopped at step {v.step} of {v.total_steps} (epoch {v.epoch:.1f}). Everything recorded until "
            f"then is kept: {v.snapshots} snapshots, {acc_text.rstrip(', ') or 'no accuracy yet'}.",
            icon=":material/stop_circle:",
        )
    elif job.status == "diverged":
        st.error(
            f"**Training diverged.** {job.message}\n\nThe weights grew until the loss was no longer a "
            "number, so training stopped. The snapshots before that are kept: look inside them to see the "
            "weights blow up.",
            icon=":material/warning:",
        )
    else:
        st.error(f"**Training failed:** {job.error}", icon=":material/error:")
        with st.expander("Details (the error's traceback)"):
            st.code(job.traceback or "no traceback", language="text")
    if (
        run is not None
        and len(run) > 0
        and st.button("Look inside this run", key="train_look", type="primary", icon=":material/visibility:")
    ):
        look_inside(run.id)


def quick_start_button(key: str) -> None:
    """One click: train a small MLP on two moons in the background, show its progress, make it the current run."""
    registry = job_registry()
    registry.warm()  # a training is likely: have a worker process ready
    job = registry.get(st.session_state.get(QUICK_KEY))
    if job is None or not job.alive:
        if not st.button(
            "Quick start: train on two moons",
            key=key,
            type="primary",
            icon=":material/bolt:",
            help="A 2-128-64-2 network, 5 epochs on 800 points: a few seconds.",
        ):
            return
        job = start_job(job_spec(DataConfig.make("moons"), name="quickstart-moons"), "two moons · MLP 128-64")
        if job is None:
            return
        st.session_state[QUICK_KEY] = job.id
    bar = st.progress(0.0, text="Starting…")
    while job.alive:
        bar.progress(job.live.view().fraction, text=progress_text(job))
        time.sleep(0.1)
    if job.status == "failed" or not job.run_id:
        st.session_state.pop(QUICK_KEY, None)
        st.error(f"The quick start failed: {job.error or job.message}")
        return
    bar.progress(1.0, text="Done")
    set_current_run(job.run_id)
    st.session_state.pop(QUICK_KEY, None)
    st.rerun()


# --- runs as a table --------------------------------------------------------------------------------------------
def describe_model(model: dict) -> str:
    """A run's network in a few words: "MLP 128-64 (relu)", "CNN 16-32 → 64 (relu)", or "custom"."""
    kind = model.get("kind")
    act = f" ({model.get('activation', 'relu')})"
    dense = "-".join(map(str, model.get("hidden", []))) or "no hidden layer"
    if kind == "mlp":
        return f"MLP {dense}{act}"
    if kind == "cnn":
        return f"CNN {'-'.join(map(str, model.get('channels', [])))} → {dense}{act}"
    return f"custom {model.get('class', '')}".strip()


def _dataset_label(run: Run) -> str:
    try:
        return run.data_config.label()
    except (KeyError, TypeError, AttributeError):
        return str(run.manifest.get("dataset", {}).get("name", "?"))


def runs_table(runs: list[Run]):
    """One row per run: name, dataset, network, test accuracy in %, status, snapshots, date (a pandas DataFrame)."""
    import pandas as pd

    rows = [
        {
            "run": r.id,
            "dataset": _dataset_label(r),
            "network": describe_model(r.manifest["model"]),
            "accuracy": None if r.final_accuracy is None else 100 * r.final_accuracy,
            "status": r.status,
            "snapshots": len(r),
            "created": pd.to_datetime(r.manifest.get("created"), errors="coerce"),
        }
        for r in runs
    ]
    return pd.DataFrame(rows, columns=["run", "dataset", "network", "accuracy", "status", "snapshots", "created"])


RUNS_COLUMNS = {
    "accuracy": st.column_config.ProgressColumn("test accuracy", format="%.1f%%", min_value=0.0, max_value=100.0),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
}


# --- page furniture ---------------------------------------------------------------------------------------------
def how_to_read(text: str) -> None:
    """A short "how to read this" caption under a figure."""
    st.caption(f"**How to read this:** {text}")


def show_code(*objects) -> None:
    """An expander with the source of the nnlab functions behind a page."""
    with st.expander("Show the nnlab code behind this page"):
        for obj in objects:
            st.code(inspect.getsource(obj), language="python")
