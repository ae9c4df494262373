"""Models: kinds of network registered by name, each declaring the points a user can look at.

Stage 2 of the pipeline. One file per kind (`mlp.py`, `cnn.py`); `registry.py` holds the table they
register in; `points.py` says what a point is and reads them; `budget.py` sizes a network from its config.
A run's manifest keeps the config (`dataclasses.asdict`), so any snapshot can be rebuilt.
"""

from . import autoencoder, cnn, lite0, mlp, pretrained, toy, vit  # noqa: F401  (importing a kind registers it)
from .autoencoder import AEConfig, ConvAEConfig
from .blocks import ACTIVATIONS, MAX_WIDTH, Net
from .budget import Footprint, check_budget, footprint
from .cnn import CNNConfig
from .mlp import MLPConfig
from .points import (
    LAYOUTS,
    ROLES,
    Point,
    count_parameters,
    forward_points,
    layer_points,
    module_of,
    parameter_table,
    point_of,
    sample_vectors,
    unit_view,
    with_shapes,
)
from .registry import (
    VIEWS,
    Field,
    ModelKind,
    build_model,
    config_from_dict,
    describe_model,
    model_kind,
    model_kinds,
    register_model,
    task_of,
)
from .toy import ToyConfig
from .vit import ViTConfig

__all__ = [
    "ACTIVATIONS",
    "LAYOUTS",
    "MAX_WIDTH",
    "ROLES",
    "VIEWS",
    "AEConfig",
    "ConvAEConfig",
    "CNNConfig",
    "Field",
    "Footprint",
    "MLPConfig",
    "ModelKind",
    "Net",
    "Point",
    "build_model",
    "check_budget",
    "config_from_dict",
    "count_parameters",
    "describe_model",
    "footprint",
    "forward_points",
    "layer_points",
    "model_kind",
    "model_kinds",
    "parameter_table",
    "module_of",
    "register_model",
    "task_of",
    "ToyConfig",
    "point_of",
    "sample_vectors",
    "unit_view",
    "ViTConfig",
    "with_shapes",
]
