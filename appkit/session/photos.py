"""This session's photos and the pretrained network opened on them: a run the run picker lists beside the recorded ones.

Session glue above `appkit.caches`. The photos are the bundled samples (the two scikit-learn ships) and the ones this
session gave (on the Photo page, or added on the walk-through), decoded in memory and kept in `st.session_state`:
never on disk, never in a link (a link names the run and a photo's number, and a fresh session has only the samples).
`pretrained_run(run_id)` is the network with these photos as its samples (`nnlab.runs.pretrained.PretrainedRun`),
made again only when the photos change; its module is built once per server and never changed (the run hands out
copies). Session keys start with `app_photos`.
"""

from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st
import torch

from appkit.caches import CACHE_TTL
from nnlab.analysis import photo as photo_analysis
from nnlab.data.own_input import OwnInputError
from nnlab.models import build_model
from nnlab.models.pretrained import PretrainedConfig, pretrained_networks
from nnlab.runs.pretrained import PREFIX, PretrainedRun, is_pretrained_id, run_id

PHOTOS_KEY = "app_photos"  # [(title, digest, rgb)]: the photos this session gave, oldest first
RUN_KEY = "app_photos_run"  # (the photos' digests, the PretrainedRun made of them)
MAX_PHOTOS = 8  # photos a session keeps (about 3 MB each at most, decoded); the oldest goes first
SAMPLE_TITLES = {"china.jpg": "A Chinese temple (china.jpg)", "flower.jpg": "A flower (flower.jpg)"}

__all__ = [
    "MAX_PHOTOS",
    "add_photo",
    "digest",
    "is_pretrained_id",
    "pretrained_ids",
    "pretrained_model",
    "pretrained_run",
    "read_upload",
    "sample_photos",
    "session_photos",
]


@st.cache_resource(max_entries=2, ttl=CACHE_TTL, show_spinner="Loading the pretrained network…")
def pretrained_model(name: str) -> torch.nn.Module:
    """The pretrained network `name`, built once per server: shared read-only, its weights frozen (copy it, or hold
    a lock, for anything that sets hooks)."""
    model = build_model(PretrainedConfig(name))
    model.requires_grad_(False)  # nothing here trains it
    return model


@st.cache_data(max_entries=1, show_spinner=False)  # a singleton: two small bundled photos, kept
def sample_photos() -> dict[str, np.ndarray]:
    """The bundled sample photos by title (the two scikit-learn ships), uint8 (H, W, 3)."""
    from sklearn.datasets import load_sample_images

    images = load_sample_images()
    files = [f.rsplit("/", 1)[-1] for f in images.filenames]
    return {SAMPLE_TITLES.get(f, f): img for f, img in zip(files, images.images, strict=True)}


def digest(rgb: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(rgb).tobytes() + str(rgb.shape).encode()).hexdigest()


def session_photos() -> list[tuple[str, np.ndarray]]:
    """The photos this session gave, oldest first: (title, uint8 (H, W, 3))."""
    return [(title, rgb) for title, _, rgb in st.session_state.get(PHOTOS_KEY, [])]


def add_photo(rgb: np.ndarray) -> int:
    """Keep a photo this session gave (once: the same pixels are not kept twice); its number among the pretrained
    run's samples (the samples first, then this session's photos)."""
    kept = st.session_state.setdefault(PHOTOS_KEY, [])
    key = digest(rgb)
    found = next((i for i, (_, d, _) in enumerate(kept) if d == key), None)
    if found is None:
        number = 1 + max((int(t.rsplit(" ", 1)[-1]) for t, _, _ in kept), default=0)
        kept.append((f"Your photo {number}", key, rgb))
        del kept[:-MAX_PHOTOS]
        found = len(kept) - 1
    return len(sample_photos()) + found


@st.cache_data(max_entries=8, ttl=CACHE_TTL, show_spinner="Reading the photo…")
def _decoded(data: bytes) -> photo_analysis.Photo:
    return photo_analysis.read_photo(data)


def read_upload(file) -> photo_analysis.Photo | None:
    """An uploaded or camera file decoded in memory, or None with the reason on the page (its notes as captions)."""
    try:
        photo = _decoded(file.getvalue())
    except OwnInputError as e:
        st.error(str(e))
        return None
    for note in photo.notes:
        st.caption(note)
    return photo


def pretrained_ids() -> list[str]:
    """The run ids of the installed pretrained networks ("pretrained:efficientnet-lite0")."""
    return [run_id(name) for name in pretrained_networks()]


def pretrained_run(run_id_: str) -> PretrainedRun | None:
    """The pretrained network `run_id_` names, with the samples and this session's photos as its samples."""
    name = run_id_[len(PREFIX) :] if is_pretrained_id(run_id_) else ""
    if name not in pretrained_networks():
        return None
    photos = list(sample_photos().items()) + session_photos()
    keys = (name, tuple(digest(rgb) for _, rgb in photos))
    held = st.session_state.get(RUN_KEY)
    if held is not None and held[0] == keys:
        return held[1]
    if held is not None and held[1].net.name == name:
        run = held[1].with_photos(photos)  # the same network: its points with their shapes are known
    else:
        run = PretrainedRun(name, photos, model=pretrained_model(name))
    st.session_state[RUN_KEY] = (keys, run)
    return run


def label(run_id_: str) -> str:
    """The run picker's name for a pretrained network ("EfficientNet-Lite0 · pretrained")."""
    name = run_id_[len(PREFIX) :]
    networks = pretrained_networks()
    return f"{networks[name].title} · pretrained" if name in networks else run_id_
