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
from typing import TYPE_CHECKING

from ..data import DataConfig
from ..record import RecordConfig
from ..train import TrainConfig

if TYPE_CHECKING:  # imported by the worker that trains it (torch modules of its own)
    from ..analysis.sae import SaeSpec


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

    def __post_init__(self):  # the runs folder absolute (the worker's cwd does not matter), the imports a tuple
        object.__setattr__(self, "root", os.path.abspath(self.root))
        object.__setattr__(self, "imports", tuple(self.imports))

    def key(self) -> str:
        """What decides the trained network: data, model, training with its seed, recording, plug-in modules."""
        configs = {"data": self.data, "train": self.train, "record": self.record}
        work = {name: config.to_dict() if config is not None else None for name, config in configs.items()}
        model = asdict(self.model) if self.model is not None else None
        return _digest({**work, "model": model, "imports": list(self.imports)})


@dataclass(frozen=True)
class FeaturesSpec:
    """A sparse autoencoder (`SaeSpec`: point, snapshot, width, k, checked where it was asked for) trained on one point
    of the run in `folder` (`nnlab.analysis.sae.train_spec`) and saved in it."""

    folder: str  # the run folder (made absolute)
    sae: SaeSpec
    torch_threads: int = 1
    imports: tuple[str, ...] = ()  # modules to import first (a plug-in model kind's)

    def __post_init__(self):
        object.__setattr__(self, "folder", str(Path(self.folder).resolve()))

    @property
    def root(self) -> str:
        """The runs folder the run is in."""
        return str(Path(self.folder).parent)

    def key(self) -> str:
        """The run, the point, the snapshot, the width and k: one job for them, whoever asks (not the seed)."""
        sae = self.sae
        return _digest({"features": [Path(self.folder).name, sae.point, sae.snapshot, sae.width, sae.k]})
