"""Train: configure the data, the network and the optimizer; start; watch live; stop.

Training runs in a background job owned by the server (appkit.job_registry), so leaving this
page, changing a widget or reloading the tab neither stops nor restarts it; this session only
remembers which job it watches (session key train_job, and ?job= in the address for reloads).
"""

from dataclasses import replace

import streamlit as st

import appkit
from nnlab.jobs import JobRegistry
from nnlab.models import ACTIVATIONS, CNNConfig, MLPConfig, build_model, count_parameters, parameter_table
from nnlab.pipeline import default_train, make_trainer
from nnlab.record import RecordConfig
from nnlab.train import TrainConfig

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0]
BATCHES = [16, 32, 64, 128, 256, 512]
DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]
KERNELS = [3, 5]
EPOCHS = range(1, 51)  # the Epochs slider's values
SNAPSHOTS = range(5, 201, 5)  # the Snapshots slider's values
# Seconds between live-panel refreshes. Streamlit restarts this timer only after a refresh has run and reached the
# browser (each takes ~0.1-0.2 s of server time), so 0.1 s gives about 2-3 refreshes a second on two cores.
LIVE_EVERY = 0.1
registry = appkit.job_registry()
registry.warm()  # a worker process ready before Start is pressed


def widths(text: str, what: str) -> tuple[int, ...] | None:
    """ "128, 64" → (128, 64); an error message on the page and None when it does not parse."""
    try:
        out = tuple(int(t) for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip())
    except ValueError:
        out = None
    if out is None or any(w < 1 or w > 4096 for w in out):
        st.error(f"{what}: write whole numbers between 1 and 4096 separated by commas, like `128, 64`.")
        return None
    return out


def shape_words(ds) -> str:
    """ "is 1×28×28 pixels" or "has 2 numbers"."""
    return f"is {'×'.join(map(str, ds.input_shape))} pixels" if ds.is_image else f"has {ds.input_shape[0]} numbers"


def form_values(spec) -> dict:
    """The form's widget values (session keys) that reproduce a job's spec; values the form cannot show are left out."""
    data, model, train = spec.data, spec.model or {}, spec.train or {}
    name = data["name"]
    cnn = model.get("kind") == "cnn"
    values = {f"train_{name}_{k}": v for k, v in data.get("options", {}).items()}
    values |= {"train_dataset": name, f"train_subset_{name}": data.get("train_subset")}
    if model:
        text = ", ".join(map(str, model.get("hidden", ())))
        values |= {"train_kind": "CNN" if cnn else "MLP", "train_cnn_hidden" if cnn else "train_hidden": text}
        values |= {f"train_{k}": model.get(k) for k in ("activation", "dropout", "batch_norm")}
        if cnn:
            channels = ", ".join(map(str, model.get("channels", ())))
            values |= {"train_channels": channels, "train_kernel": model.get("kernel"), "train_pool": model.get("pool")}
    if train:
        opt = train.get("optimizer")
        values |= {"train_optimizer": opt, f"train_lr_{opt}": train.get("lr"), "train_decay": train.get("weight_decay")}
        values |= {f"train_{k}": train.get(k) for k in ("momentum", "epochs", "schedule", "seed")}
        values["train_batch"] = train.get("batch_size")
    values["train_snapshots"] = (spec.record or {}).get("snapshots")
    if spec.name and spec.name != f"{name}-{'cnn' if cnn else 'mlp'}":
        values["train_name"] = spec.name
    allowed = {"train_batch": BATCHES, "train_decay": DECAYS, "train_kernel": KERNELS, "train_epochs": EPOCHS}
    allowed |= {"train_snapshots": SNAPSHOTS, f"train_lr_{train.get('optimizer')}": LRS}
    return {k: v for k, v in values.items() if v is not None and (k not in allowed or v in allowed[k])}


def restore_form() -> None:
    """A reloaded tab is a new session with only ?job= in its address: show that job's settings, not the defaults."""
    if appkit.TRAIN_JOB_KEY in st.session_state or (job := registry.get(st.query_params.get("job"))) is None:
        return
    for key, value in form_values(job.spec).items():
        st.session_state.setdefault(key, value)


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
restore_form()

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
        kinds = ["MLP", "CNN"] if ds.is_image else ["MLP"]
        kind = st.segmented_control(
            "Kind",
            kinds,
            default="MLP",
            key="train_kind",
            required=True,
            help="MLP: dense layers only. CNN: convolution blocks, then dense layers (image data only).",
        )
        kind = kind if kind in kinds else "MLP"
        c1, c2 = st.columns(2)
        act = c1.selectbox("Activation", list(ACTIVATIONS), key="train_activation")
        dropout = c2.slider(
            "Dropout",
            0.0,
            0.5,
            0.0,
            0.05,
            key="train_dropout",
            help="Share of units switched off at random in each training step (0: none).",
        )
        batch_norm = st.checkbox(
            "Batch norm",
            key="train_batch_norm",
            help="Normalise each layer's raw output over the batch before the activation.",
        )
        model = None
        if kind == "CNN":
            c1, c2, c3 = st.columns(3)
            channels = widths(
                c1.text_input(
                    "Conv channels", "16, 32", key="train_channels", help="Output channels of each conv block."
                ),
                "Conv channels",
            )
            kernel = c2.selectbox("Kernel", KERNELS, key="train_kernel")
            pool = c3.selectbox("Pooling", ["max", "avg", "none"], key="train_pool")
            hidden = widths(
                st.text_input("Dense layers after the convolutions", "64", key="train_cnn_hidden"), "Dense layers"
            )
            if channels and hidden is not None:
                model = CNNConfig(
                    ds.input_shape, ds.n_classes, channels, kernel, pool, hidden, act, dropout, batch_norm
                )
        else:
            hidden = widths(
                st.text_input(
                    "Hidden layer widths",
                    "128, 64",
                    key="train_hidden",
                    help="One number per hidden dense layer, e.g. `128, 64`.",
                ),
                "Hidden widths",
            )
            if hidden is not None:
                model = MLPConfig(ds.input_shape, ds.n_classes, hidden, act, dropout, batch_norm)
        if model is not None:
            try:
                net = build_model(model)
                n_params = count_parameters(net)
                st.dataframe(parameter_table(net), hide_index=True, width="stretch")
                st.caption(
                    f"**{n_params:,} parameters** to learn. Each row is a layer; raw outputs "
                    "(dense, conv) and activated outputs (relu, …) are separate points you can look at."
                )
            except (RuntimeError, ValueError) as e:
                st.error(f"This network cannot be built for this data: {e}")
                model = None

        st.subheader("3 · Optimizer", anchor=False)
        base = default_train(ds)
        c1, c2 = st.columns(2)
        opt = c1.selectbox(
            "Optimizer",
            ["adam", "sgd"],
            key="train_optimizer",
            format_func={"adam": "Adam", "sgd": "SGD with momentum"}.get,
        )
        lr = c2.select_slider(
            "Learning rate",
            LRS,
            value=3e-3 if opt == "adam" else 3e-2,
            key=f"train_lr_{opt}",
            format_func=lambda v: f"{v:g}",
            help="Step size. Too large and the loss explodes.",
        )
        momentum = 0.9
        if opt == "sgd":
            momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key="train_momentum")
        c1, c2, c3 = st.columns(3)
        batch = c1.select_slider("Batch size", BATCHES, value=base.batch_size, key="train_batch")
        epochs = c2.slider("Epochs", EPOCHS[0], EPOCHS[-1], 5, key="train_epochs")
        decay = c3.select_slider("Weight decay", DECAYS, value=0.0, key="train_decay", format_func=lambda v: f"{v:g}")
        schedule = st.radio(
            "Learning-rate schedule",
            ["constant", "cosine", "step"],
            horizontal=True,
            key="train_schedule",
            help="cosine: decays smoothly to 0; step: ÷10 at 50% and 75%.",
        )

        st.subheader("4 · Recording", anchor=False)
        c1, c2, c3 = st.columns(3)
        seed = c1.number_input("Seed", 0, 10**6, 0, key="train_seed", help="Same seed, same run.")
        snaps = c2.slider(
            "Snapshots",
            SNAPSHOTS[0],
            SNAPSHOTS[-1],
            50,
            SNAPSHOTS.step,
            key="train_snapshots",
            help="How many times the recorder keeps everything (plus the initial state).",
        )
        name = c3.text_input(
            "Run name",
            "",
            key="train_name",
            placeholder=f"{data.name}-{kind.lower()}",
            help="Prefix of the run's folder name; the date and time are added.",
        )
        if model is not None:
            train = TrainConfig(
                opt, float(lr), float(momentum), int(batch), int(epochs), float(decay), schedule, int(seed)
            )
            name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name.strip())[:40]
            spec = appkit.job_spec(
                data, model, train, RecordConfig(snapshots=int(snaps)), name=name or f"{data.name}-{kind.lower()}"
            )
            network = appkit.describe_model({"kind": kind.lower(), **model.__dict__})
            label = f"{data.name} · {network}"
            summary = (
                f"**{data.name}**, {subset:,} training samples → **{network}**, {n_params:,} parameters → "
                f"**{'Adam' if opt == 'adam' else 'SGD'}** at learning rate {lr:g}, {epochs} epoch"
                f"{'s' * (epochs != 1)} in batches of {batch} → {snaps} snapshots"
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
