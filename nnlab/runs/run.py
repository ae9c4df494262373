"""Reading a run folder back: configs, snapshots, metrics, and replay at any snapshot.

Replay rebuilds the network from the saved config, loads the weights of snapshot k,
and recomputes any sample's layer outputs exactly as the network computed them then. Before the network is built
(`model_at`) or the data loaded (`dataset`), what the manifest declares is checked (`check`): a run dropped into the
runs folder by hand is held to the same limits as an imported one, and fails with a `RunError` in words.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..data import DataConfig, Dataset, load_dataset
from ..data.dataset import stats_from_dict
from ..models import ModelKind, build_model, config_from_dict, forward_points, model_kinds, with_shapes
from ..train import TrainConfig
from . import check
from .store import ADVICE, RunError, UnknownName, _load_tensors, _pid_alive, damaged, read_manifest

_RUN_ADVICE = "pick another run in the sidebar, or delete this one on the Runs page"


class Run:
    """A run folder opened for reading. Cheap to open; snapshots load on demand (a few are kept)."""

    has_history = True  # snapshots over training (a pretrained network opened as a run has one state only)

    def __init__(self, folder: Path | str, *, cache_size: int = 8):
        self.folder = Path(folder)
        self.manifest = read_manifest(self.folder)
        self._cache: OrderedDict = OrderedDict()
        self._cache_size = cache_size
        self._network: dict | None = None  # the tensors a snapshot of the network holds, once checked
        self._fitting: set[str] = set()  # the snapshot files whose headers fit the network
        self._check_files()

    def _check_files(self) -> None:
        """Every snapshot the manifest lists is there (its content is checked when it is read)."""
        for snap in self.manifest["snapshots"]:
            if not (self.folder / snap["file"]).is_file():
                raise damaged(self.id, snap["file"], "is missing", "download or delete the run on the Runs page")

    def refresh(self) -> Run:
        """Re-read the manifest (a run still training grows)."""
        self.manifest = read_manifest(self.folder)
        return self

    # --- what the run is -------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.folder.name

    @property
    def name(self) -> str:
        return self.manifest.get("name") or self.id

    @property
    def key(self) -> str:
        """What caches key it by: its folder (a `PretrainedRun`, which has none, gives its network and photos)."""
        return str(self.folder)

    @property
    def created(self) -> str:
        """When the run was created, local time "2024-05-01T12:00:00" (checked by the schema; "" if unknown)."""
        return self.manifest.get("created") or ""

    @property
    def status(self) -> str:
        """ "complete", "stopped", "diverged", "failed" (an error), "running", "interrupted" (writer gone, Ctrl-C)."""
        status = self.manifest["status"]
        if status in ("running", "created") and not _pid_alive(self.manifest.get("writer", {})):
            return "interrupted"
        return status

    @property
    def message(self) -> str:
        """The run's last word (plain text, written by the trainer or a user's loop: never render it as Markdown)."""
        return self.manifest.get("message", "")

    @property
    def data_config(self) -> DataConfig:
        return DataConfig.from_dict(self.manifest["data"])

    @property
    def model_kind(self) -> ModelKind | None:
        """The registered kind of the run's network; None for a model nnlab did not build (your own module)."""
        return model_kinds().get(self.manifest["model"].get("kind"))

    @property
    def model_config(self):
        """The network's config (a registered kind's frozen dataclass), or None for your own module."""
        if self.model_kind is None:
            return None
        try:
            return config_from_dict(self.manifest["model"])
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as e:
            raise RunError(f"The network of run {self.id!r} cannot be rebuilt from its manifest: {e}") from None

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.manifest["train"])

    @property
    def class_names(self) -> list[str]:
        return list(self.manifest.get("dataset", {}).get("class_names", []))  # strings (the schema checks)

    @property
    def snapshots(self) -> list[dict]:
        return self.manifest["snapshots"]

    @property
    def epochs(self) -> list[dict]:
        return self.manifest["epochs"]

    def __len__(self) -> int:
        return len(self.snapshots)

    @property
    def final_accuracy(self) -> float | None:
        """The last epoch's test accuracy, else the last snapshot's evaluation accuracy, else None."""
        if self.epochs and self.epochs[-1].get("test_acc") is not None:
            return self.epochs[-1]["test_acc"]
        return self.snapshots[-1].get("eval_acc") if self.snapshots else None

    # --- arrays ----------------------------------------------------------------------
    def snapshot(self, k: int) -> dict[str, torch.Tensor]:
        """Every array of snapshot `k` (negative counts from the end); raise `RunError` if bad."""
        if not self.snapshots:
            raise RunError(f"Run {self.id!r} has no snapshot yet")
        k = range(len(self.snapshots))[k]
        if k in self._cache:
            self._cache.move_to_end(k)
            return self._cache[k]
        tensors = _load_tensors(self.folder, self.snapshots[k]["file"], self.id)
        self._cache[k] = tensors
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return tensors

    def group(self, k: int, prefix: str) -> dict[str, torch.Tensor]:
        """One group of snapshot `k` without its prefix: "param", "grad", "opt", "buffer", "mean", ..."""
        p = prefix + "/"
        return {key[len(p) :]: v for key, v in self.snapshot(k).items() if key.startswith(p)}

    def steps(self) -> dict[str, np.ndarray]:
        """Loss and accuracy of every training step."""
        path = self.folder / "steps.safetensors"
        if not path.exists():
            return {"loss": np.zeros(0, np.float32), "acc": np.zeros(0, np.float32)}
        steps = {k: v.numpy() for k, v in _load_tensors(self.folder, path.name, self.id, _RUN_ADVICE).items()}
        if "loss" not in steps:
            raise damaged(self.id, path.name, "does not hold the step losses", _RUN_ADVICE)
        return steps

    def eval_set(self) -> tuple[np.ndarray, np.ndarray]:
        """Indices into the test split and labels of the evaluation subset."""
        t = _load_tensors(self.folder, "eval.safetensors", self.id, _RUN_ADVICE)
        if not {"indices", "labels"} <= t.keys() or t["indices"].shape != t["labels"].shape:
            raise damaged(self.id, "eval.safetensors", "does not hold the evaluation subset", _RUN_ADVICE)
        return t["indices"].numpy(), t["labels"].numpy()

    # --- replay ----------------------------------------------------------------------
    def _refused(self, e: RunError) -> RunError:
        """A check's failure as the one sentence a page shows: what the manifest declares, or a damaged file."""
        if e.reason.startswith(check.MANIFEST):
            return type(e)(f"Run {self.id!r} cannot be opened: its {e.reason}; {_RUN_ADVICE}.", reason=e.reason)
        return type(e)(f"Run {self.id!r} is damaged: its file {e.reason}; {ADVICE}.", reason=e.reason)

    def check_network(self, k: int | None = None) -> None:
        """Before the network is built: its kind, config and size (on the meta device, against NNLAB_MAX_PARAMS) and
        the tensors of snapshot `k` (every snapshot: None), from their headers; `RunError` naming what is wrong."""
        try:
            if self._network is None:
                self._network = {"shapes": check.network_shapes(self.manifest["model"])}
            ks = range(len(self.snapshots)) if k is None else [range(len(self.snapshots))[k]]
            for i in ks:
                file = self.snapshots[i]["file"]
                if file not in self._fitting:
                    check.check_snapshot(check.read_header(self.folder / file, file), self._network["shapes"], file)
                    self._fitting.add(file)
        except RunError as e:
            raise self._refused(e) from None

    def dataset(self) -> Dataset:
        """The run's dataset, normalised with the statistics the run was trained with."""
        if self.data_config.name == check.CUSTOM:
            raise UnknownName(
                f"Run {self.id!r} was recorded from a loop of your own on data of its own, which nnlab cannot load; "
                f"{_RUN_ADVICE}."
            )
        try:
            check.check_dataset(self.manifest["data"])
        except RunError as e:
            raise UnknownName(
                f"Run {self.id!r} was trained on data that is not here: its {e.reason}; put the dataset back (the "
                "Datasets page downloads the built-in ones), or pick another run.",
                reason=e.reason,
            ) from None
        ds = load_dataset(self.data_config)
        stats = self.manifest.get("dataset", {}).get("stats")
        if stats:
            mean, std = stats_from_dict(stats)
            ds = replace(ds, mean=mean, std=std)
        return ds

    def model_at(self, k: int, model: torch.nn.Module | None = None) -> torch.nn.Module:
        """The network with the weights and buffers of snapshot `k`, in eval mode.

        Pass `model` for a run recorded from your own module class (its config is not nnlab's).
        """
        if model is None:
            kind = self.manifest["model"].get("kind")
            if kind == check.CUSTOM:
                raise RunError(f"Run {self.id!r} holds a custom model; pass an instance as model=")
            self.check_network(k)  # an unknown kind, a network over the budget, a snapshot that does not fit it
            model = build_model(self.model_config)
        state = {**self.group(k, "param"), **self.group(k, "buffer")}
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise RunError(f"Snapshot {k} of run {self.id!r} does not fit its model config: {e}") from None
        return model.eval()

    @torch.no_grad()
    def layer_outputs(self, k: int, x: torch.Tensor) -> dict[str, np.ndarray]:
        """Every point's output for prepared inputs `x` `(N, *input_shape)` at snapshot `k`."""
        return {name: t.numpy() for name, t in forward_points(self.model_at(k), x).items()}

    def points(self):
        """The network's declared points (name, role, layer, layout, shape), from the saved config."""
        cfg = self.model_config
        return with_shapes(cfg, self.model_kind.declare(cfg))

    def point(self, name: str):
        """The declared point `name` (with its shape); `RunError` naming the network's points for an unknown one."""
        if self.model_config is None:
            raise UnknownName(f"Run {self.id!r} holds a custom model, whose points nnlab does not know")
        points = {p.name: p for p in self.points()}
        if name not in points:
            raise UnknownName(
                f"The network of run {self.id!r} has no point {str(name)[:60]!r}; its points are {', '.join(points)}"
            )
        return points[name]

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r}, status={self.status!r}, snapshots={len(self)})"
