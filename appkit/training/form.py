"""The Train page's form: the data's subset, the network drawn from its kind's form table with its layer table, the
optimizer, the recording; restoring it, and the job this tab watches.

Every model kind describes its settings once (`nnlab.models.Field`); `network_form` draws them as widgets and
`form_values` turns a job's saved spec back into the same widgets' values, so a reloaded tab shows what is training.
Session keys start with `train_`; a kind's settings are `train_<kind>_<field>`. Imports only `caches` and `session`.
"""

from __future__ import annotations

from dataclasses import replace

import pandas
import streamlit as st
import torch

from appkit.caches import CACHE_TTL, job_registry
from appkit.session import links
from nnlab.data import DataConfig, Dataset
from nnlab.jobs import Job, JobRegistry
from nnlab.models import MAX_WIDTH, Field, ModelKind, build_model, check_budget, model_kinds, parameter_table
from nnlab.models.budget import Footprint, footprint, limits
from nnlab.record import RecordConfig
from nnlab.train import TrainConfig

LRS = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0]
BATCHES = [16, 32, 64, 128, 256, 512]
DECAYS = [0.0, 1e-5, 1e-4, 1e-3, 1e-2]
EPOCHS = range(1, 51)  # the Epochs slider's values
SNAPSHOTS = range(5, 201, 5)  # the Snapshots slider's values
KIND_KEY = "train_kind"  # the kind's title ("MLP", "CNN", ...)

TRAIN_JOB_KEY = "train_job"  # session key: id of the job the Train page watches in this session


def field_key(kind: ModelKind, f: Field) -> str:
    return f"train_{kind.name}_{f.name}"


def parse_widths(text: str) -> tuple[int, ...]:
    """ "128, 64" → (128, 64); ValueError in words when it does not parse."""
    try:
        out = tuple(int(t) for t in text.replace(";", ",").replace(" ", ",").split(",") if t.strip())
    except ValueError:
        out = None
    if out is None or any(not 1 <= w <= MAX_WIDTH for w in out):
        raise ValueError(f"write whole numbers from 1 to {MAX_WIDTH:,} separated by commas, like `128, 64`")
    return out


def data_form(data: DataConfig, ds: Dataset) -> DataConfig:
    """The training-subset slider (for more than 200 samples) and the data in one line; the config with its subset."""
    n = subset = len(ds.y_train)
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
    shape = f"is {'×'.join(map(str, ds.input_shape))} pixels" if ds.is_image else f"has {ds.input_shape[0]} numbers"
    st.caption(
        f"{ds.n_classes} classes · each sample {shape} · {subset:,} training and {len(ds.y_test):,} test samples"
    )
    return replace(data, train_subset=subset if subset < n else None)


def _widget(kind: ModelKind, f: Field, default, where):
    key = field_key(kind, f)
    if f.widget == "ints":
        text = where.text_input(f.label, ", ".join(map(str, default)), key=key, help=f.help or None)
        try:
            return parse_widths(text)
        except ValueError as e:
            st.error(f"{f.label}: {e}.")
            return None
    if f.widget == "choice":
        return where.selectbox(
            f.label, list(f.choices), index=list(f.choices).index(default), key=key, help=f.help or None
        )
    if f.widget == "int":
        high = int(f.high) if f.high > f.low else MAX_WIDTH
        return int(where.number_input(f.label, int(f.low) or 1, high, int(default), key=key, help=f.help or None))
    if f.widget == "slider":
        return where.slider(f.label, f.low, f.high, float(default), f.step, key=key, help=f.help or None)
    return where.toggle(f.label, bool(default), key=key, help=f.help or None)


def network_form(ds):
    """The kind picker and that kind's settings; the config, or None (with the reason on the page)."""
    kinds = {}
    for kind in model_kinds().values():
        try:
            kinds[kind.title] = (kind, kind.make(ds.input_shape, ds.n_classes))
        except ValueError:
            continue  # this kind does not take this data (a CNN needs images)
    titles = list(kinds)
    title = st.segmented_control(
        "Kind",
        titles,
        default=titles[0],
        key=KIND_KEY,
        required=True,
        help=" ".join(f"{t}: {k.help}" for t, (k, _) in kinds.items()),
    )
    kind, defaults = kinds[title if title in kinds else titles[0]]
    values, cols = {}, st.columns(2)
    for i, f in enumerate(kind.form):
        where = st if f.widget == "ints" else cols[i % 2]
        values[f.name] = _widget(kind, f, getattr(defaults, f.name), where)
    if any(v is None for v in values.values()):
        return None
    try:
        return kind.make(ds.input_shape, ds.n_classes, **values)
    except ValueError as e:
        st.error(f"This network cannot be built for this data: {e}")
        return None


@st.cache_data(max_entries=64, ttl=CACHE_TTL, show_spinner=False)
def _sized(model, server_limits: tuple[int, int]) -> tuple[Footprint, pandas.DataFrame | None]:
    """A network config's footprint and, within the server's limits, its layer table: built on the meta device
    (nothing allocated) once per value of the config, not on every rerun of the form."""
    fp = footprint(model)
    if fp.params > server_limits[0]:
        return fp, None
    with torch.device("meta"):
        return fp, parameter_table(build_model(model))


def budget_problem(model, batch_size: int = 1) -> str:
    """Why `model` trained in batches of `batch_size` is over the server's limits, in words; "" if it is not."""
    try:
        check_budget(model, batch_size, _sized(model, limits())[0])
    except ValueError as e:
        return str(e)
    return ""


def network_table(model) -> int | None:
    """The layers and their parameter counts (memoised on the config); None, with the reason, if over budget."""
    if problem := budget_problem(model):
        st.error(problem)
        return None
    size, table = _sized(model, limits())
    st.dataframe(table, hide_index=True, width="stretch")
    st.caption(
        f"**{size.params:,} parameters** to learn. Each row is a layer; raw outputs (dense, conv) and activated "
        "outputs (relu, …) are separate points you can look at."
    )
    return size.params


def optimizer_form(base: TrainConfig) -> dict:
    """The optimizer and schedule widgets; their values as TrainConfig fields."""
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
    momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key="train_momentum") if opt == "sgd" else 0.9
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
    return {
        "optimizer": opt,
        "lr": float(lr),
        "momentum": float(momentum),
        "batch_size": int(batch),
        "epochs": int(epochs),
        "weight_decay": float(decay),
        "schedule": schedule,
    }


def recording_form(placeholder: str) -> tuple[int, RecordConfig, str]:
    """Seed, snapshots and run name: (seed, record config, the run name's prefix)."""
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
        placeholder=placeholder,
        help="Prefix of the run's folder name; the date and time are added.",
    )
    name = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in name.strip())[:40]
    return int(seed), RecordConfig(snapshots=int(snaps)), name or placeholder


def form_values(spec) -> dict:
    """The form's widget values (session keys) that reproduce a job's spec (its typed configs); values the form
    cannot show are left out."""
    data, model, train = spec.data, spec.model, spec.train
    name = data.name
    values = {f"train_{name}_{k}": v for k, v in data.options}
    values |= {"train_dataset": name, f"train_subset_{name}": data.train_subset}
    kind = model_kinds().get(getattr(model, "kind", None))
    allowed: dict[str, object] = {}
    if kind is not None:
        values[KIND_KEY] = kind.title
        for f in kind.form:
            v = getattr(model, f.name, None)
            values[field_key(kind, f)] = ", ".join(map(str, v)) if f.widget == "ints" and v is not None else v
            if f.widget == "choice":
                allowed[field_key(kind, f)] = f.choices
    if train is not None:
        opt = train.optimizer
        values |= {"train_optimizer": opt, f"train_lr_{opt}": train.lr, "train_decay": train.weight_decay}
        values |= {f"train_{k}": getattr(train, k) for k in ("momentum", "epochs", "schedule", "seed")}
        values["train_batch"] = train.batch_size
        allowed[f"train_lr_{opt}"] = LRS
    values["train_snapshots"] = spec.record.snapshots if spec.record is not None else None
    if spec.name and kind is not None and spec.name != f"{name}-{kind.name}":
        values["train_name"] = spec.name
    allowed |= {"train_batch": BATCHES, "train_decay": DECAYS, "train_epochs": EPOCHS, "train_snapshots": SNAPSHOTS}
    return {k: v for k, v in values.items() if v is not None and (k not in allowed or v in allowed[k])}


def restore_form(job) -> None:
    """A reloaded tab is a new session with only ?job= in its address: show that job's settings, not the defaults."""
    if job is None:
        return
    for key, value in form_values(job.spec).items():
        st.session_state.setdefault(key, value)
    links.incoming("dataset")  # the job's data wins over the dataset the address last showed (taken, not used)


def watch(job_id: str) -> None:
    """This session watches the job; so does this tab's address (?job=), for a reload."""
    st.session_state[TRAIN_JOB_KEY] = job_id
    st.query_params["job"] = job_id


def session_job() -> Job | None:
    """The job this session watches, if any (for the sidebar's note: no address is read or written)."""
    return job_registry().get(st.session_state.get(TRAIN_JOB_KEY))


def watched_job(registry: JobRegistry) -> Job | None:
    """The job this session watches: from the session, else from ?job= (a reloaded tab)."""
    job = registry.get(st.session_state.get(TRAIN_JOB_KEY)) or registry.get(st.query_params.get("job"))
    if job is not None:
        watch(job.id)
    return job
