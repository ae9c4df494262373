"""Run folders on disk: the writer the recorder feeds, and the reader every view uses.

Stage 4 of the pipeline. A run is a folder:

    manifest.json            dataset, model, training and record configs, status,
                             snapshot index, epoch metrics, format version
    eval.safetensors         the evaluation subset: indices into the test split, labels
    steps.safetensors        loss and accuracy of every step
    snapshots/0000.safetensors  one file per snapshot (weights, gradients, optimizer
                             state, buffers, per-class layer statistics, predictions)

Every file is written to a temporary name and renamed, and the manifest is written
last, so a run killed mid-training opens up to its last complete snapshot.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .schema import FORMAT_VERSION, MAX_MANIFEST_BYTES, ManifestError, parse_manifest

MANIFEST = "manifest.json"
ADVICE = "pick another snapshot or run in the sidebar, or delete this run on the Runs page"
MANIFEST_ADVICE = "download or delete it on the Runs page"


class RunError(Exception):
    """A run folder that cannot be read, with the reason in words (file names relative to the run, no paths).

    `reason` is the problem alone ("snapshots/0003.safetensors is missing"), for lists of damaged runs.
    """

    def __init__(self, message: str, *, reason: str | None = None):
        super().__init__(message)
        self.reason = reason or message


class UnknownName(RunError, KeyError):
    """A run names a dataset, a kind of network or a point that is not here: a `RunError` naming what is missing and
    what there is, and a `KeyError` too, for callers that catch a missing name (its text is not quoted)."""

    def __str__(self) -> str:
        return BaseException.__str__(self)


def _tmp_name(path: Path) -> Path:
    """A fresh hidden name beside `path` (created with the umask's permissions, unlike mkstemp's 0600)."""
    return path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(path)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    # serialised in memory (a snapshot is about a megabyte): safetensors' save_file would create the file 0600
    atomic_write_bytes(path, save({k: v.contiguous() for k, v in tensors.items()}))


def write_manifest(folder: Path, manifest: dict) -> None:
    atomic_write_bytes(folder / MANIFEST, json.dumps(manifest, indent=1).encode())


class RunWriter:
    """Creates a run folder and keeps its manifest current while training runs."""

    def __init__(
        self,
        folder: Path | str,
        *,
        data: dict,
        model: dict,
        train: dict,
        record: dict,
        dataset_info: dict | None = None,
        name: str | None = None,
        extra: dict | None = None,
    ):
        self.folder = Path(folder)
        if self.folder.exists() and any(self.folder.iterdir()):
            raise RunError(f"The run folder {self.folder.name!r} already exists and is not empty")
        (self.folder / "snapshots").mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "format_version": FORMAT_VERSION,
            "name": name or self.folder.name,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "status": "created",
            "message": "",
            "writer": {"pid": os.getpid(), "host": socket.gethostname()},
            "data": data,
            "dataset": dataset_info or {},
            "model": model,
            "train": train,
            "record": record,
            "progress": {},
            "epochs": [],
            "snapshots": [],
            **(extra or {}),  # who finds the run and who sees it: job_id, config_key, owner, shared
        }
        write_manifest(self.folder, self.manifest)

    def save_eval_set(self, indices: np.ndarray, labels: np.ndarray) -> None:
        atomic_save_tensors(
            self.folder / "eval.safetensors",
            {
                "indices": torch.as_tensor(indices, dtype=torch.int64),
                "labels": torch.as_tensor(labels, dtype=torch.int64),
            },
        )

    def start(self, **progress) -> None:
        self.manifest["status"] = "running"
        self.manifest["progress"] = progress
        self.manifest["started"] = time.time()
        write_manifest(self.folder, self.manifest)

    def _save_steps(self, steps: dict[str, np.ndarray]) -> None:
        atomic_save_tensors(self.folder / "steps.safetensors", {k: torch.from_numpy(v) for k, v in steps.items()})

    def add_snapshot(self, tensors: dict[str, torch.Tensor], info: dict, steps: dict[str, np.ndarray]) -> None:
        index = len(self.manifest["snapshots"])
        file = f"snapshots/{index:04d}.safetensors"
        atomic_save_tensors(self.folder / file, tensors)
        self._save_steps(steps)
        self.manifest["snapshots"].append({"index": index, "file": file, "time": time.time(), **info})
        write_manifest(self.folder, self.manifest)

    def add_epoch(self, metrics: dict) -> None:
        self.manifest["epochs"].append(metrics)
        write_manifest(self.folder, self.manifest)

    def finish(self, status: str, message: str, steps: dict[str, np.ndarray]) -> None:
        self._save_steps(steps)
        self.manifest.update(status=status, message=message, finished=time.time())
        write_manifest(self.folder, self.manifest)


def _pid_alive(writer: dict) -> bool:
    if writer.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(writer.get("pid", -1)), 0)
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return True


def damaged(run_id: str, file: str, problem: str, advice: str = ADVICE) -> RunError:
    """The one sentence a page shows for a bad file: the run, the file (relative to the run), what to do."""
    return RunError(f"Run {run_id!r} is damaged: its file {file} {problem}; {advice}.", reason=f"{file} {problem}")


def _load_tensors(folder: Path, file: str, run_id: str, advice: str = ADVICE) -> dict[str, torch.Tensor]:
    """The tensors of `folder/file`, or a `RunError` naming the run and the file (not where it lies)."""
    path = folder / file
    if not path.is_file():
        raise damaged(run_id, file, "is missing", advice)
    try:
        return load_file(path)
    except OSError as e:
        raise damaged(run_id, file, f"cannot be read ({e.strerror or type(e).__name__})", advice) from None
    except (SafetensorError, ValueError, RuntimeError) as e:
        raise damaged(run_id, file, f"is corrupt ({str(e)[:100]})", advice) from None


def read_manifest(folder: Path) -> dict:
    """The validated manifest of a run folder (see schema.py), or a `RunError` naming the problem."""
    path = folder / MANIFEST
    if not path.is_file():
        raise RunError(f"Not a run folder: {folder.name!r} has no manifest.json")
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except OSError as e:
        problem = f"cannot be read ({e.strerror or type(e).__name__})"
        raise damaged(folder.name, MANIFEST, problem, MANIFEST_ADVICE) from None
    try:
        return parse_manifest(raw)
    except ManifestError as e:
        reason = str(e)
        raise RunError(f"Run {folder.name!r} is damaged: its {reason}; {MANIFEST_ADVICE}.", reason=reason) from None
