"""nnlab: train small networks with everything recorded, then look inside them.

The pipeline: data → model → train (recorder as callback) → run folder →
analysis → figures. This package never imports streamlit.
"""

from .capture import Capture
from .data import DataConfig, Dataset, list_datasets, load_dataset, register_dataset
from .loop import record_loop
from .models import (
    CNNConfig,
    MLPConfig,
    Point,
    ViTConfig,
    build_model,
    forward_points,
    layer_points,
    model_kind,
    model_kinds,
    register_model,
)
from .pipeline import default_model, make_trainer, train_run
from .record import RecordConfig, Recorder
from .runs import Run, RunError, RunWriter, list_runs
from .train import Callback, TrainConfig, Trainer

__all__ = [
    "CNNConfig",
    "Callback",
    "Capture",
    "DataConfig",
    "Dataset",
    "MLPConfig",
    "Point",
    "RecordConfig",
    "Recorder",
    "Run",
    "RunError",
    "RunWriter",
    "TrainConfig",
    "Trainer",
    "ViTConfig",
    "build_model",
    "default_model",
    "forward_points",
    "layer_points",
    "list_datasets",
    "list_runs",
    "load_dataset",
    "make_trainer",
    "model_kind",
    "model_kinds",
    "record_loop",
    "register_dataset",
    "register_model",
    "train_run",
]
