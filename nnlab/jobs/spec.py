"""What a background job does: train a run (`JobSpec`), or train a sparse autoencoder inside one (`FeaturesSpec`).

Stage 3 (train) apart from the app. A spec is a frozen dataclass of typed configs, each validated once where it
entered (the Train form, the command line, a lesson, an uploaded run); it travels as that object to the worker
(multiprocessing or Ray carries it across the process boundary) and into the run's manifest. `key()` names the work,
not who asks or where it is written: equal keys are identical work, done once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..data import DataConfig
from ..record import RecordConfig
from ..train import TrainConfig


def _digest(work: dict) -> str:
    """A 16-hex-digit hash of a JSON-able description of the work."""
    canonical = json.dumps(work, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class JobSpec:
    """Everything a worker needs to train one run, as typed configs."""

    data: DataConfig
    model: object = None  # a registered kind's config (MLPConfig, CNNConfig, ...); None: the dataset's default
    train: TrainConfig | None = None  # None: the dataset's defaults (nnlab.pipeline.default_train)
    record: RecordConfig | None = None  # None: RecordConfig()
    root: str = "runs"  # the runs folder (absolute, so the worker's cwd does not matter)
    name: str | None = None  # prefix of the run folder's name
    data_dir: str | None = None  # NNLAB_DATA_DIR for the worker (None: inherit)
    imports: tuple[str, ...] = ()  # modules to import first (your own @register_dataset loaders)
    torch_threads: int = 1  # intra-op threads of the worker (see nnlab.threads.worker_threads)
    max_threads: int = 0  # more than torch_threads: use up to this many while the machine is idle (jobs.threads)
    owner: str | None = None  # the run's owner (an anonymous id, nnlab.runs.owners); None: shared with everyone
    shared: bool = False  # shared with everyone (a lesson preset): written without an owner, the teacher's to change

    @classmethod
    def make(cls, data, model=None, train=None, record=None, *, root, **kwargs) -> JobSpec:
        """A spec writing under `root` (made absolute)."""
        return cls(
            data, model, train, record, str(os.path.abspath(root)), imports=tuple(kwargs.pop("imports", ())), **kwargs
        )

    def key(self) -> str:
        """What decides the trained network: data, model, training with its seed, recording, plug-in modules."""
        return _digest(
            {
                "data": self.data.to_dict(),
                "model": asdict(self.model) if self.model is not None else None,
                "train": self.train.to_dict() if self.train is not None else None,
                "record": self.record.to_dict() if self.record is not None else None,
                "imports": list(self.imports),
            }
        )


@dataclass(frozen=True)
class FeaturesSpec:
    """A sparse autoencoder trained on one point of a run (`nnlab.analysis.sae.train_in_run`) and saved in it."""

    folder: str  # the run folder (absolute)
    point: str  # the network point whose activations it learns
    snapshot: int | None = None  # which snapshot's network (None: the last)
    width: int = 256  # features
    k: int = 8  # features active per sample (TopK)
    seed: int = 0
    epochs: int | None = None  # None: train_in_run's default
    torch_threads: int = 1
    imports: tuple[str, ...] = ()  # modules to import first (a plug-in model kind's)

    def __post_init__(self):  # the width, k and epochs are checked against the point by the page (SaeSpec.check)
        object.__setattr__(self, "folder", str(Path(self.folder).resolve()))

    @property
    def root(self) -> str:
        """The runs folder the run is in."""
        return str(Path(self.folder).parent)

    def key(self) -> str:
        """The run, the point, the snapshot, the width and k: one job for them, whoever asks."""
        run = Path(self.folder).name
        return _digest({"features": [run, self.point, self.snapshot, self.width, self.k]})
