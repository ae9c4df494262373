"""The toy model of superposition (Elhage et al. 2022, "Toy Models of Superposition", Anthropic).

n features squeezed into m < n dimensions and rebuilt: h = W x, x' = ReLU(Wᵀ h + b), trained to minimise
Σᵢ Iᵢ (xᵢ − x'ᵢ)² with importance Iᵢ = rⁱ (`importance` is r). Column i of W (`hidden.weight`, m × n) is the
direction feature i gets in the hidden space; `nnlab.analysis.superposition` reads them. Its data is
`sparse-features` (`nnlab.data.sparse_features`). A reconstruction task like the autoencoders' (the probe on the
code `hidden` predicts each sample's strongest feature); the loss is the paper's importance-weighted error.
Points: `hidden` (h, layout "code"), `out` (Wᵀh + b) and `recon` (x', after the ReLU).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..tasks import Metric, Reconstruction
from .points import Point
from .registry import Field, register_model

MAX_FEATURES = 1000


@dataclass(frozen=True)
class ToyConfig:
    """n = input_shape[0] features, `dims` = m hidden dimensions, importance Iᵢ = importanceⁱ."""

    input_shape: tuple[int, ...] = (5,)  # (n,): one value per feature
    n_classes: int = 6  # the data's classes (strongest feature, or none): the probe's and the colours'
    dims: int = 2  # m: the hidden dimensions the n features are squeezed into (2 draws them as arrows)
    importance: float = 0.7  # r: feature i weighs rⁱ in the loss, so feature 0 matters most
    kind: str = "toy"
    # the parameter whose column i is feature i's direction (read by nnlab.analysis.superposition)
    feature_weight: ClassVar[str] = "hidden.weight"
    feature_bias: ClassVar[str] = "out.bias"  # and the output bias b

    def __post_init__(self):
        shape = tuple(self.input_shape)
        if len(shape) != 1 or not isinstance(shape[0], int) or not 2 <= shape[0] <= MAX_FEATURES:
            raise ValueError(
                f"The toy model reads a vector of 2 to {MAX_FEATURES:,} features (the sparse-features dataset); "
                f"got samples of shape {shape}"
            )
        n = shape[0]
        if isinstance(self.dims, bool) or not isinstance(self.dims, int) or not 1 <= self.dims < n:
            raise ValueError(
                f"The hidden dimensions must be a whole number from 1 to {n - 1} (fewer than the {n} "
                f"features: squeezing them is the point); got {self.dims!r}"
            )
        if isinstance(self.importance, bool) or not isinstance(self.importance, numbers.Real):
            raise ValueError(f"The importance decay must be a number; got {self.importance!r}")
        if not 0.1 <= self.importance <= 1.0:
            raise ValueError(
                f"The importance decay must be from 0.1 to 1 (1: every feature matters as much); got {self.importance}"
            )
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ValueError(f"The probe on the hidden vector needs at least 2 classes; got {self.n_classes}")
        object.__setattr__(self, "importance", float(self.importance))

    @property
    def n_features(self) -> int:
        return self.input_shape[0]

    def describe(self) -> str:
        return f"Toy model {self.n_features} features → {self.dims} dims (importance {self.importance:g}ⁱ)"


class TiedOut(nn.Module):
    """x ↦ Wᵀh + b, with W the hidden layer's weight (tied: the toy model has one matrix) and its own bias b."""

    def __init__(self, n_features: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(n_features))

    def forward(self, h: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return h @ weight + self.bias  # (N, m) @ (m, n) → (N, n)


class ToyModel(nn.Module):
    """h = W x (`hidden`), x' = ReLU(Wᵀh + b) (`out`, then `recon`); forward returns x'."""

    def __init__(self, config: ToyConfig):
        super().__init__()
        self.config = config
        self.hidden = nn.Linear(config.n_features, config.dims, bias=False)  # weight W: (m, n)
        nn.init.xavier_normal_(self.hidden.weight)  # as the paper's code
        self.out = TiedOut(config.n_features)
        self.recon = nn.ReLU()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The hidden vectors `(N, m)` of inputs `(N, n)`."""
        return self.hidden(x)

    def decode(self, h: torch.Tensor) -> torch.Tensor:
        """Reconstructions `(N, n)` of hidden vectors `(N, m)`."""
        return self.recon(self.out(h, self.hidden.weight))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.hidden(x))


def importances(config: ToyConfig) -> torch.Tensor:
    """`(n,)` float32: Iᵢ = rⁱ."""
    return config.importance ** torch.arange(config.n_features, dtype=torch.float32)


class WeightedReconstruction(Reconstruction):
    """The paper's loss: Σᵢ Iᵢ (xᵢ − x'ᵢ)² per sample, averaged over the batch. The metric stays the plain
    reconstruction error (mean squared error per value), so it compares with an autoencoder's."""

    metric_info = Metric("error", "reconstruction error (MSE)", "error", False, share=False, loss="Σ Iᵢ(xᵢ − x'ᵢ)²")

    def loss(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor, model=None) -> torch.Tensor:
        weight = importances(model.config).to(output.device)  # (n,)
        return ((x - output).pow(2) * weight).sum(1).mean()


def toy_points(config: ToyConfig) -> list[Point]:
    return [
        Point("hidden", "raw", 1, module="hidden", layout="code"),
        Point("out", "raw", 2, module="out"),
        Point("recon", "reconstruction", 2, module="recon", activation="relu"),
    ]


SKIPS = {
    "attribution": "the toy model rebuilds its input and has no class score to attribute.",
    "boundary": "the toy model outputs a reconstruction, not class probabilities; the Weight evolution page "
    "draws where each feature sits.",
}

register_model(
    "toy",
    config=ToyConfig,
    points=toy_points,
    title="Toy model of superposition",
    help="Squeezes n sparse features into m < n dimensions and rebuilds them (Elhage et al. 2022): "
    "train it on sparse-features.",
    form=(
        Field(
            "dims",
            "Hidden dimensions m (fewer than the features)",
            "int",
            low=1,
            high=64,
            step=1,
            help="2 draws each feature as an arrow in the plane.",
        ),
        Field(
            "importance",
            "Importance decay r (feature i weighs rⁱ)",
            "slider",
            low=0.5,
            high=1.0,
            step=0.05,
            help="Below 1, the first features matter most in the loss.",
        ),
    ),
    skips=SKIPS,
    task=WeightedReconstruction(code="hidden"),
    order=60,
)(ToyModel)
