"""Train: configure the data, the network and the optimizer; start; watch live; stop.

Training runs in a background job owned by the server (appkit.job_registry), so leaving this
page, changing a widget or reloading the tab neither stops nor restarts it; this session only
remembers which job it watches (session key train_job, and ?job= in the address for reloads).
"""

from dataclasses import replace

import streamlit as st
import torch

import appkit
from appkit import train_form as T
from nnlab.jobs import JobRegistry
from nnlab.models import build_model, check_budget, parameter_table
from nnlab.pipeline import default_train, make_trainer
from nnlab.train import TrainConfig

# Seconds between live-panel refreshes. Streamlit restarts this timer only after a refresh has run and reached the
# browser (each takes ~0.1-0.2 s of server time), so 0.1 s gives about 2-3 refreshes a second on two cores.
LIVE_EVERY = 0.1
registry = appkit.job_registry()
registry.warm()  # a worker process ready before Start is pressed


def shape_words(ds) -> str:
    """ "is 1×28×28 pixels" or "has 2 numbers"."""
    return f"is {'×'.join(map(str, ds.input_shape))} pixels" if ds.is_image else f"has {ds.input_shape[0]} numbers"


def network_table(model) -> int | None:
    """The layers and their parameter counts, sized on the meta device (nothing allocated); None if over budget."""
    try:
        size = check_budget(model)
    except ValueError as e:
        st.error(str(e))
        return None
    with torch.device("meta"):
        net = build_model(model)
    st.dataframe(parameter_table(net), hide_index=True, width="stretch")
    st.caption(
        f"**{size.params:,} parameters** to learn. Each row is a layer; raw outputs (dense, conv) and activated "
        "outputs (relu, …) are separate points you can look at."
    )
    return size.params


def watched_job():
    """The job this session watches: from the session, else from ?job= (a reloaded tab)."""
    job = registry.get(st.session_state.get(appkit.TRAIN_JOB_KEY))
    if job is None:
        job = registry.get(st.query_params.get("job"))
        if job is not None:
            st.session_state[appkit.TRAIN_JOB_KEY] = job.id
    if job is not None:
        st.query_params["job"] = job.id
    return job


st.title("Train a network")
st.caption(
    "Choose the data, the network and how to train it, then press **Start**. Training runs in the "
    "background: you can change settings, visit other pages or reload this one meanwhile."
)
config_col, live_col = st.columns([5, 6], gap="large")
if appkit.TRAIN_JOB_KEY not in st.session_state:
    T.restore_form(registry.get(st.query_params.get("job")))

# --- the configuration -------------------------------------------------------------------------------------------
spec, label, summary, n_params = None, "", "", 0
with config_col:
    st.subheader("1 · Data", anchor=False)
    data = appkit.dataset_picker("train", default=st.session_state.get("data_dataset"))
    ds = None
    if data is not None:
        try:
            ds = appkit.load_data(data)
        except (ValueError, OSError, KeyError) as e:
            st.error(f"This dataset cannot be loaded: {e}")
    if ds is not None:
        n = len(ds.y_train)
        subset = n
        if n > 200:
            subset = st.slider(
                "Train on this many samples",
                min(100, n),
                n,
                n,
                step=max(1, n // 100),
                key=f"train_subset_{data.name}",
                help="A class-balanced, seeded subset of the training split: fewer samples, faster epochs.",
            )
        st.caption(
            f"{ds.n_classes} classes · each sample {shape_words(ds)} · "
            f"{subset:,} training and {len(ds.y_test):,} test samples"
        )
        data = replace(data, train_subset=subset if subset < n else None)

        st.subheader("2 · Network", anchor=False)
        model = T.network_form(ds)
        n_params = network_table(model) if model is not None else None
        st.subheader("3 · Optimizer", anchor=False)
        optimizer = T.optimizer_form(default_train(ds))
        st.subheader("4 · Recording", anchor=False)
        seed, record, name = T.recording_form(f"{data.name}-{model.kind if model else 'run'}")
        try:
            train = TrainConfig(**optimizer, seed=seed)
            if n_params is not None:
                check_budget(model, train.batch_size)  # the batch's memory, now that its size is known
        except ValueError as e:
            st.error(f"These settings cannot be used: {e}")
            train = None
        if n_params is not None and train is not None:
            spec = appkit.job_spec(data, model, train, record, name=name)
            network = model.describe()
            label = f"{data.name} · {network}"
            summary = (
                f"**{data.name}**, {subset:,} training samples → **{network}**, {n_params:,} parameters → "
                f"**{'Adam' if train.optimizer == 'adam' else 'SGD'}** at learning rate {train.lr:g}, "
                f"{train.epochs} epoch{'s' * (train.epochs != 1)} in batches of {train.batch_size} → "
                f"{record.snapshots} snapshots"
            )

# --- the live panel ----------------------------------------------------------------------------------------------
job = watched_job()
with live_col:
    with st.container(border=True):
        st.markdown("**Ready to train**")
        if spec is not None:
            st.markdown(summary)
        else:
            st.caption("Finish the settings on the left first.")
        if st.button(
            "Start training",
            key="train_start",
            type="primary",
            icon=":material/play_arrow:",
            disabled=spec is None,
            width="stretch",
        ):
            new = appkit.start_job(spec, label)
            if new is not None:
                st.session_state[appkit.TRAIN_JOB_KEY] = new.id
                st.query_params["job"] = new.id
                job = new

    st.subheader("Training", anchor=False)
    if job is None:
        st.info("Nothing is training in this session yet. Configure a run on the left and press **Start**.")
    else:
        live = job.alive  # a live job redraws twice a second; a finished one is drawn once
        st.fragment(run_every=LIVE_EVERY if live else None)(appkit.training_panel)(job.id, live)

    others = [j for j in registry.running() if job is None or j.id != job.id]
    if others:
        st.markdown("**Also training on this server**")
        for j in others:
            c1, c2 = st.columns([4, 1])
            c1.progress(j.live.view().fraction, text=f"{j.label}: {appkit.progress_text(j)}")
            if c2.button("Watch", key=f"train_watch_{j.id}"):
                st.session_state[appkit.TRAIN_JOB_KEY] = j.id
                st.query_params["job"] = j.id
                st.rerun()

appkit.show_code(make_trainer, JobRegistry.start, appkit.training_panel)
