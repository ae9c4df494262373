"""The multi-layer perceptron: flatten, then dense layers (dense → [batch norm] → activation → [dropout]).

Its points: `dense1` (raw), `relu1` (activated), ..., `out` (logits), `softmax` (probabilities), all vectors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import nn

from .blocks import ACTIVATIONS, Net, Plan, build_plan, check_common, dense_stack, plan_points, step
from .points import Point
from .registry import Field, register_model


@dataclass(frozen=True)
class MLPConfig:
    """A multi-layer perceptron: flatten, then dense layers."""

    input_shape: tuple[int, ...] = (2,)  # one sample's shape, e.g. (2,) or (1, 28, 28)
    n_classes: int = 2
    hidden: tuple[int, ...] = (128, 64)  # widths of the hidden dense layers
    activation: str = "relu"  # one of ACTIVATIONS, used after every hidden layer
    dropout: float = 0.0  # dropout after each activation (0 = none)
    batch_norm: bool = False  # batch norm between each dense layer and its activation
    kind: str = "mlp"

    def __post_init__(self):
        check_common(self)

    def describe(self) -> str:
        return f"MLP {'-'.join(map(str, self.hidden)) or 'no hidden layer'} ({self.activation})"


def _plan(cfg: MLPConfig) -> Plan:
    plan: Plan = []
    step(plan, "flatten", nn.Flatten, None, 0)
    dense_stack(plan, cfg, math.prod(cfg.input_shape), 0)
    return plan


def mlp_points(cfg: MLPConfig) -> list[Point]:
    return plan_points(_plan(cfg))


FORM = (
    Field("hidden", "Hidden layer widths", "ints", help="Comma-separated, e.g. 128, 64. Leave empty for none."),
    Field("activation", "Activation", "choice", choices=tuple(ACTIVATIONS)),
    Field(
        "dropout", "Dropout", "slider", low=0.0, high=0.8, step=0.05, help="Share of units switched off in training."
    ),
    Field("batch_norm", "Batch norm", "toggle", help="Normalise each layer's raw output over the batch."),
)


@register_model(
    "mlp",
    order=0,
    config=MLPConfig,
    points=mlp_points,
    title="MLP",
    help="Dense layers on the flattened input.",
    form=FORM,
)
def build_mlp(cfg: MLPConfig) -> Net:
    return build_plan(cfg, _plan(cfg))
