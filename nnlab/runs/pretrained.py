"""A pretrained network opened as a run: its one state as shipped, photos as its samples, no training history.

Stage: run, beside `Run`. The analysis functions that read a `Run` at a snapshot (the walk-through, attribution, units)
read a `PretrainedRun` the same way: one snapshot (index 0: the weights as shipped), `model_at`, `points`, `dataset`
(the photos, each resized and centre-cropped as the network's preprocessing says, labelled `UNKNOWN`: nobody said
what they show) and `eval_set` (every photo). Nothing is written anywhere: the photos live in this object only, and
`key` (the network's name and a digest of the photos) stands where a run's folder keys its caches.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from ..analysis.photo import preprocess, shaped
from ..data import DataConfig, Dataset
from ..models import ModelKind, build_model, forward_points, model_kind
from ..models.pretrained import PretrainedConfig, pretrained_network
from .store import UnknownName

UNKNOWN = -1  # a photo's label: what it shows is not known (the network's answer is not a truth)
PREFIX = "pretrained:"  # ids start so: a run folder's name cannot hold ':' (`check_name`), so no run is taken for one
STATUS = "pretrained"  # its status, where a recorded run says "complete" or "running"


def run_id(name: str) -> str:
    """The id of the pretrained network `name` opened as a run ("pretrained:efficientnet-lite0")."""
    return PREFIX + name


def is_pretrained_id(text: str | None) -> bool:
    """Whether a run id names a pretrained network rather than a run folder."""
    return isinstance(text, str) and text.startswith(PREFIX)


class PretrainedRun:
    """A pretrained network with photos as its samples, read like a `Run` with one snapshot and no history.

    Args:
        name: a registered pretrained network (`register_pretrained`).
        photos: (title, uint8 `(H, W, 3)` RGB) pairs, in the order the samples are numbered.
        model: the network already built (shared, never changed here: `model_at` hands out copies); default: built.
    """

    has_history = False  # no training steps, no snapshots but the one: pages offer no training-time slider for it

    def __init__(self, name: str, photos: Sequence[tuple[str, np.ndarray]], *, model: nn.Module | None = None):
        self.net = pretrained_network(name)
        self.config = PretrainedConfig(name)
        self.titles = tuple(str(title) for title, _ in photos)
        crop = self.net.preprocess.crop
        crops = [
            preprocess(np.ascontiguousarray(rgb, dtype=np.uint8), self.net.preprocess).cropped for _, rgb in photos
        ]
        self.images = np.stack(crops).transpose(0, 3, 1, 2) if crops else np.zeros((0, 3, crop, crop), np.uint8)
        self.images.setflags(write=False)  # (N, 3, crop, crop) uint8: what the network sees of each photo
        digest = hashlib.sha1(self.images.tobytes() + "\n".join(self.titles).encode()).hexdigest()[:16]
        self.key = f"{run_id(name)}/{digest}"  # what caches key it by: the network and these photos
        self._model = model
        self._points = None
        self.manifest = {  # what pages read of a run's manifest; nothing here comes from a file
            "name": self.net.title,
            "status": STATUS,
            "message": self.net.help,
            "created": "",
            "model": {"kind": self.config.kind, "name": name},
            "data": {"name": "photos", "options": {}},
            "dataset": {"name": "photos", "class_names": list(self.net.classes), "kind": "image"},
            "snapshots": [{"step": 0, "epoch": 0.0, "eval_acc": None, "file": ""}],
            "epochs": [],
        }

    # --- what the run is -------------------------------------------------------------
    @property
    def id(self) -> str:
        return run_id(self.net.name)

    @property
    def name(self) -> str:
        return f"{self.net.title} (pretrained)"

    @property
    def status(self) -> str:
        return STATUS

    @property
    def message(self) -> str:
        return self.net.help

    @property
    def created(self) -> str:
        return ""

    @property
    def model_kind(self) -> ModelKind:
        return model_kind(self.config.kind)

    @property
    def model_config(self) -> PretrainedConfig:
        return self.config

    @property
    def data_config(self) -> DataConfig:
        return DataConfig.make("photos")

    @property
    def class_names(self) -> list[str]:
        return list(self.net.classes)

    @property
    def snapshots(self) -> list[dict]:
        return self.manifest["snapshots"]

    @property
    def epochs(self) -> list[dict]:
        return []

    def __len__(self) -> int:
        return 1

    @property
    def final_accuracy(self) -> None:
        """None: the photos have no labels to be right or wrong about."""
        return None

    # --- samples ---------------------------------------------------------------------
    def dataset(self) -> Dataset:
        """The photos as a test split (no training split): uint8 `(N, 3, crop, crop)` crops, labels `UNKNOWN`,
        normalised by the network's preprocessing (`prepare` gives exactly what the network was fed in training)."""
        pre = self.net.preprocess
        mean = np.asarray(pre.mean, np.float32).reshape(3, 1, 1) / 255.0
        std = np.asarray(pre.std, np.float32).reshape(3, 1, 1) / 255.0
        labels = np.full(len(self.images), UNKNOWN, np.int64)
        empty = np.zeros((0, *self.images.shape[1:]), np.uint8)
        return Dataset(
            "photos", empty, np.zeros(0, np.int64), self.images, labels, tuple(self.net.classes),
            description="photos, centre-cropped as the network's preprocessing does", mean=mean, std=std, kind="image",
        )  # fmt: skip

    def eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Every photo: (indices, labels `UNKNOWN`)."""
        return np.arange(len(self.images)), np.full(len(self.images), UNKNOWN, np.int64)

    def steps(self) -> dict[str, np.ndarray]:
        return {"loss": np.zeros(0, np.float32), "acc": np.zeros(0, np.float32)}

    def snapshot(self, k: int) -> dict[str, torch.Tensor]:
        """No recorded arrays: the network was not trained here (its weights are `model_at(0)`'s)."""
        self._check_k(k)
        return {}

    def group(self, k: int, prefix: str) -> dict[str, torch.Tensor]:
        self._check_k(k)
        return {}

    # --- the network -----------------------------------------------------------------
    def _check_k(self, k: int) -> int:
        if k not in (0, -1):
            raise IndexError(
                f"{self.net.title} has one state, as it was shipped (snapshot 0); there is no snapshot {k}"
            )
        return 0

    def check_network(self, k: int | None = None) -> None:
        """Nothing to check: the network was registered with its weights, not declared by a manifest."""

    def _shared(self) -> nn.Module:
        if self._model is None:
            self._model = build_model(self.config)
        return self._model

    def model_at(self, k: int, model: nn.Module | None = None) -> nn.Module:
        """A private copy of the network (hooks set on it touch no other user's), in eval mode."""
        self._check_k(k)
        out = copy.deepcopy(self._shared())
        out.requires_grad_(True)  # the attribution methods differentiate through it
        return out.eval()

    @torch.no_grad()
    def layer_outputs(self, k: int, x: torch.Tensor) -> dict[str, np.ndarray]:
        """Every point's output for prepared inputs `x` `(N, 3, crop, crop)`."""
        return {name: t.numpy() for name, t in forward_points(self.model_at(k), x).items()}

    def points(self):
        """The network's declared points with their shapes (one forward pass of zeros, once)."""
        if self._points is None:
            model = self.model_at(0)
            self._points = shaped(model, list(self.net.points), self.net.input_shape)
        return list(self._points)

    def point(self, name: str):
        points = {p.name: p for p in self.points()}
        if name not in points:
            raise UnknownName(f"{self.net.title} has no point {str(name)[:60]!r}; its points are {', '.join(points)}")
        return points[name]

    def with_photos(self, photos: Sequence[tuple[str, np.ndarray]]) -> PretrainedRun:
        """The same network (its module and its points shared) with other photos."""
        other = PretrainedRun(self.net.name, photos, model=self._shared())
        other._points = self._points
        return other

    def __repr__(self) -> str:
        return f"PretrainedRun({self.net.name!r}, photos={len(self.titles)})"


__all__ = ["PREFIX", "STATUS", "UNKNOWN", "PretrainedRun", "is_pretrained_id", "run_id"]
