"""The Photo page's glue: the pretrained network (one per server), the photo picker and the cached looks inside.

Page-only glue for `app_pages/photo.py`. The network is built once per server (`st.cache_resource`) with a lock: its
hooks are global state on a module every session shares, so one forward pass with hooks runs at a time. Photos come
from an upload, the camera or the samples scikit-learn ships; their bytes stay in memory (decoded by
`nnlab.analysis.photo.read_photo`), are never written to disk nor put in a link. Session keys start with `photo_`.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass
from urllib.parse import quote

import numpy as np
import streamlit as st
import torch

from appkit.caches import CACHE_TTL
from appkit.frame.navigation import page_file
from appkit.pickers import photos as photo_picker
from appkit.session import current, photos
from nnlab.analysis import diagram as network_diagram
from nnlab.analysis import photo as photo_analysis
from nnlab.figures import diagram as diagram_figures
from nnlab.models.pretrained import PretrainedNet, pretrained_network, pretrained_networks
from nnlab.runs.pretrained import run_id

NETWORK, SOURCE, SAMPLE, UPLOAD, CAMERA = (
    "photo_network",
    "photo_source",
    "photo_sample",
    "photo_upload",
    "photo_camera",
)
STAGE, SHOW, COUNT, GRID, CHANNEL = "photo_stage", "photo_show", "photo_count", "photo_grid", "photo_channel"
SOURCES = ("A sample photo", "Upload a photo", "Take a photo")
KINDS = ["png", "jpg", "jpeg", "webp", "gif"]


@dataclass(frozen=True)
class Loaded:
    """A pretrained network as the page uses it: its registration, its module, its points with shapes, its lock."""

    net: PretrainedNet
    model: torch.nn.Module
    points: list
    lock: threading.Lock


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Loading the pretrained network…")
def _loaded(name: str) -> Loaded:
    model = photos.pretrained_model(name)  # the one module of the server: the analysis pages copy it
    net = pretrained_network(name)
    return Loaded(net, model, photo_analysis.shaped(model, list(net.points), net.input_shape), threading.Lock())


def network_choice() -> Loaded | None:
    """The pretrained network to look into (a choice when more than one is registered); None when none is installed."""
    names = list(pretrained_networks())
    if not names:
        st.error("No pretrained network is installed: run `pip install -r requirements.txt`, which brings one.")
        return None
    name = names[0] if len(names) == 1 else st.selectbox("Network", names, key=NETWORK)
    return _loaded(name)


def photo_input() -> tuple[photo_analysis.Photo, str] | None:
    """The photo the user picked (and what it is called), or None with the reason on the page."""
    source = st.segmented_control("Where the photo comes from", SOURCES, default=SOURCES[0], key=SOURCE) or SOURCES[0]
    if source == SOURCES[0]:
        samples = photos.sample_photos()
        title = st.radio("Sample", list(samples), key=SAMPLE, horizontal=True)
        return photo_analysis.photo_of(samples[title]), title
    if source == SOURCES[1]:
        file = st.file_uploader("A photo (PNG, JPEG, WebP or GIF)", type=KINDS, key=UPLOAD)
    else:
        file = st.camera_input("Take a photo", key=CAMERA)
    if file is None:
        st.info("Pick a photo above to see what the network makes of it.")
        return None
    photo = photos.read_upload(file)
    if photo is None:
        return None
    photos.add_photo(photo.rgb)  # one of this session's photos: the analysis pages take it too
    return photo, "your photo"


PAGES = (  # where the photo can be looked into next: (page, button, icon)
    ("walkthrough", "Walk it through the network layer by layer", ":material/layers:"),
    ("attribution", "Which parts of it drive the answer", ":material/center_focus_strong:"),
    ("units", "Which photos each channel likes most", ":material/neurology:"),
)


def look_inside(loaded: Loaded, rgb: np.ndarray) -> None:
    """Buttons that open the walk-through, Attribution or Units on this photo, with the pretrained network as the
    sidebar's current run (listed as a run: its one state, the samples and this session's photos)."""
    number = next((i for i, s in enumerate(photos.sample_photos().values()) if np.array_equal(s, rgb)), None)
    number = photos.add_photo(rgb) if number is None else number
    for col, (page, label, icon) in zip(st.columns(len(PAGES)), PAGES, strict=True):
        if col.button(label, key=f"photo_open_{page}", icon=icon, width="stretch"):
            current.set_current_run(run_id(loaded.net.name), 0)
            photo_picker.show(number)
            st.switch_page(page_file(page))


def digest(rgb: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(rgb).tobytes() + str(rgb.shape).encode()).hexdigest()


@dataclass(frozen=True)
class Looked:
    key: str  # the photo's digest: what its figures are cached under
    steps: photo_analysis.Steps
    seen: photo_analysis.Seen
    ranked: photo_analysis.Ranked


@st.cache_resource(max_entries=8, ttl=CACHE_TTL, show_spinner="Running the network…")
def _look(name: str, key: str, _rgb: np.ndarray, k: int) -> Looked:
    loaded = _loaded(name)
    steps = photo_analysis.preprocess(_rgb, loaded.net.preprocess)
    with loaded.lock:
        seen = photo_analysis.look(loaded.model, steps.x, loaded.points)
    return Looked(key, steps, seen, photo_analysis.top_classes(seen.probs, loaded.net.classes, k))


def look(loaded: Loaded, rgb: np.ndarray, k: int = 5) -> Looked:
    """The photo preprocessed, through the network with every map captured, and its top `k` classes (cached)."""
    return _look(loaded.net.name, digest(rgb), rgb, k)


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner="Computing Grad-CAM…")
def _cam(name: str, key: str, _x: torch.Tensor, target: int) -> np.ndarray:
    loaded = _loaded(name)
    with loaded.lock:
        return photo_analysis.grad_cam(loaded.model, _x, target)


@st.cache_resource(max_entries=48, ttl=CACHE_TTL, show_spinner=False)
def _figure(key: tuple, _make):
    return _make()


def figure(key: tuple, make):
    """The figure `make()` builds, built once per server for `key` (the photo's digest and the view's settings):
    a rerun redraws without encoding its pictures again. Streamlit only reads a figure (`to_dict`), never changes it."""
    return _figure(key, make)


def grad_cam(loaded: Loaded, rgb: np.ndarray, looked: Looked, target: int) -> np.ndarray:
    return _cam(loaded.net.name, digest(rgb), looked.steps.x, int(target))


def stage_controls(loaded: Loaded) -> tuple[str, str, str, int]:
    """The stage, raw or activated, and how many channels: (raw point, activated point, what to show, count)."""
    pairs = {act.layer: (raw, act) for raw, act in photo_analysis.stages(loaded.points)}
    labels = {
        layer: f"{act.name.removesuffix('_relu')} · {act.shape[0]}×{act.shape[1]}×{act.shape[2]}"
        for layer, (_, act) in pairs.items()
    }
    c1, c2, c3 = st.columns([3, 2, 2])
    layer = c1.select_slider("Stage", list(labels), format_func=labels.get, key=STAGE)
    show = c2.segmented_control("Values", ("activated", "raw"), default="activated", key=SHOW) or "activated"
    count = c3.slider("Channels shown", 8, 64, 32, 8, key=COUNT)
    raw, act = pairs[layer]
    return raw.name, act.name, show, count


def _on_click(channels: tuple[int, ...]) -> None:
    points = ((st.session_state.get(GRID) or {}).get("selection") or {}).get("points") or []
    if points and 0 <= int(points[0].get("point_index", -1)) < len(channels):
        st.session_state[CHANNEL] = channels[int(points[0]["point_index"])]


def channel_grid(fig, stage: photo_analysis.StageMaps) -> int:
    """The clickable grid of channels; the channel to enlarge (the clicked or chosen one, else the strongest)."""
    channels = tuple(int(c) for c in stage.channels)
    on_click = functools.partial(_on_click, channels)
    st.plotly_chart(fig, key=GRID, on_select=on_click, selection_mode="points", config={"displayModeBar": False})
    if st.session_state.get(CHANNEL) not in channels:
        st.session_state[CHANNEL] = channels[0]
    return st.selectbox("Enlarge channel (or click a tile)", channels, key=CHANNEL)


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner=False)
def _diagram(name: str) -> network_diagram.Diagram:
    loaded = _loaded(name)
    with loaded.lock:
        return network_diagram.diagram_info(loaded.model, loaded.points)


def diagram(loaded: Loaded) -> None:
    """The network as a Graphviz diagram, its blocks folded into one box each unless the user unfolds them."""
    info = _diagram(loaded.net.name)
    groups = list(dict.fromkeys(b.group for b in info.boxes if b.group))
    unfold = st.multiselect("Open blocks", groups, default=[], key="photo_unfold", placeholder="Blocks to open")
    opens = network_diagram.block_points(info, loaded.points)  # a block → the point the walk-through opens at
    run = quote(run_id(loaded.net.name), safe="")
    links = {group: f"walkthrough?run={run}&layer={quote(point)}" for group, point in opens.items()}
    dot = diagram_figures.diagram_dot(info, fold=set(groups) - set(unfold), links=links, target="_blank")
    st.graphviz_chart(dot, width="content")  # its natural size
