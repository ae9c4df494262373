"""Train: configure the data, the network and the optimizer; start; watch live; stop.

Training runs in a background job owned by the server (appkit.job_registry), so leaving this
page, changing a widget or reloading the tab neither stops nor restarts it; this session only
remembers which job it watches (session key train_job, and ?job= in the address for reloads).
"""

import streamlit as st

import appkit
from appkit.pickers.datasets import picked_dataset
from appkit.session import owner
from appkit.training import form as train_form
from appkit.training import job_spec, progress_text, start_job, training_panel
from appkit.training.form import TRAIN_JOB_KEY
from appkit.training.jobs import NOT_YOURS
from nnlab.jobs import JobRegistry
from nnlab.pipeline import default_train, make_trainer
from nnlab.train import TrainConfig

# Seconds between live-panel refreshes. Streamlit restarts this timer only after a refresh has run and reached the
# browser (each takes ~0.1-0.2 s of server time), so 0.1 s gives about 2-3 refreshes a second on two cores.
LIVE_EVERY = 0.1
registry = appkit.job_registry()
registry.warm()  # a worker process ready before Start is pressed

st.title("Train a network")
st.caption(
    "Choose the data, the network and how to train it, then press **Start**. Training runs in the "
    "background: you can change settings, visit other pages or reload this one meanwhile."
)
config_col, live_col = st.columns([5, 6], gap="large")
if TRAIN_JOB_KEY not in st.session_state:
    linked = registry.get(st.query_params.get("job"))  # a reloaded tab's job: its form, if it is this student's
    train_form.restore_form(linked if linked in registry.visible(owner.viewer()) else None)

# --- the configuration -------------------------------------------------------------------------------------------
spec, label, summary = None, "", ""
with config_col:
    st.subheader("1 · Data", anchor=False)
    data, ds = picked_dataset("train", default=st.session_state.get("data_dataset"))
    if ds is not None:
        data = train_form.data_form(data, ds)
        subset = data.train_subset or len(ds.y_train)

        st.subheader("2 · Network", anchor=False)
        model = train_form.network_form(ds)
        n_params = train_form.network_table(model) if model is not None else None
        st.subheader("3 · Optimizer", anchor=False)
        optimizer = train_form.optimizer_form(default_train(ds))
        st.subheader("4 · Recording", anchor=False)
        seed, record, name = train_form.recording_form(f"{data.name}-{model.kind if model else 'run'}")
        try:
            train = TrainConfig(**optimizer, seed=seed)  # validated here, where it enters; it travels as this object
            if n_params is not None and (problem := train_form.budget_problem(model, train.batch_size)):
                raise ValueError(problem)  # the batch's memory, now that its size is known (memoised on the config)
        except ValueError as e:
            st.error(f"These settings cannot be used: {e}")
            train = None
        if n_params is not None and train is not None:
            spec = job_spec(data, model, train, record, name=name)
            network = model.describe()
            label = f"{data.name} · {network}"
            summary = (
                f"**{data.name}**, {subset:,} training samples → **{network}**, {n_params:,} parameters → "
                f"**{'Adam' if train.optimizer == 'adam' else 'SGD'}** at learning rate {train.lr:g}, "
                f"{train.epochs} epoch{'s' * (train.epochs != 1)} in batches of {train.batch_size} → "
                f"{record.snapshots} snapshots"
            )

# --- the live panel ----------------------------------------------------------------------------------------------
job = train_form.watched_job(registry)
mine = registry.visible(owner.viewer())  # a student's own trainings and the shared ones; the teacher's: all
if job is not None and job not in mine:  # a ?job= link to another student's training shows nothing of it
    st.session_state.pop(TRAIN_JOB_KEY, None)
    st.query_params.pop("job", None)
    st.warning(NOT_YOURS, icon=":material/lock:")
    job = None
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
            new = start_job(spec, label)
            if new is not None:
                train_form.watch(new.id)
                job = new

    st.subheader("Training", anchor=False)
    if job is None and st.query_params.get("job"):  # a tab reloaded after a server restart: what became of it
        training_panel(st.query_params["job"], False)
    elif job is None:
        st.info("Nothing is training in this session yet. Configure a run on the left and press **Start**.")
    else:
        live = job.alive  # a live job redraws twice a second; a finished one is drawn once
        st.fragment(run_every=LIVE_EVERY if live else None)(training_panel)(job.id, live)

    others = [j for j in registry.running() if job is None or j.id != job.id]
    shown = [j for j in others if j in mine]
    if shown:
        st.markdown("**Also training on this server**")
        for j in shown:
            c1, c2 = st.columns([4, 1])
            c1.progress(j.live.view().fraction, text=f"{j.label}: {progress_text(j)}")
            if c2.button("Watch", key=f"train_watch_{j.id}"):
                train_form.watch(j.id)
                st.rerun()
    if hidden := len(others) - len(shown):
        st.caption(
            f"{hidden} other training{'s are' if hidden != 1 else ' is'} running on this server (other students')."
        )

appkit.show_code(make_trainer, JobRegistry.start, training_panel)
