"""Layer walk-through: one sample's output at every point of the network, in network order.

Stage: run (weights of one snapshot, replayed) → analysis → `nnlab.figures.layers`.
Also how the walk-through picks its sample: by index, by class, misclassified only, at random.
Pure: arrays in, small records of numpy arrays out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..models import Point, forward_points

NON_NEGATIVE = {"relu", "relu6", "sigmoid"}  # activations whose output is never below zero: drawn on a sequential scale
SWITCHING = {"relu", "relu6", "leaky_relu"}  # activations that switch a unit off for a negative input
MODES = ("By index", "By class", "Misclassified", "Random")  # how the walk-through picks its sample


@dataclass(frozen=True)
class PointOutput:
    """One point's output for one sample."""

    name: str  # "dense1", "relu1", "pool1", "out", ...
    role: str  # "raw", "norm", "activated", "pooled", "logits"
    layer: int  # 1-based layer index shared by a layer's raw and activated outputs
    values: np.ndarray  # as the point's layout says: (U,) vector, (C, H, W) map, (N, E) tokens
    signed: bool  # True: values may be negative, draw on a diverging scale centred on zero
    off_fraction: float | None  # share of values the activation switched off (ReLU: exactly zero); else None
    layout: str = "vector"  # the point's declared layout (nnlab.models.LAYOUTS)

    @property
    def is_map(self) -> bool:
        return self.layout == "map"


@dataclass(frozen=True)
class SampleWalk:
    """One sample through the network: every point's output, the probabilities (or the reconstruction), the truth."""

    index: int  # index into the test split
    label: int  # true class
    probs: np.ndarray  # (K,) softmax output; empty for a network without one (an autoencoder)
    points: tuple[PointOutput, ...]  # network order, softmax and reconstruction excluded
    reconstruction: np.ndarray | None = None  # an autoencoder's output, shaped like the input; else None

    @property
    def pred(self) -> int:
        return int(np.argmax(self.probs)) if self.probs.size else -1

    @property
    def correct(self) -> bool:
        return self.pred == self.label

    def layers(self) -> list[tuple[int, list[PointOutput]]]:
        """The points grouped by layer, in network order: [(1, [dense1, relu1]), (2, [...]), ...]."""
        groups: dict[int, list[PointOutput]] = {}
        for p in self.points:
            groups.setdefault(p.layer, []).append(p)
        return list(groups.items())


@torch.no_grad()
def replay(model: torch.nn.Module, x: torch.Tensor) -> dict[str, np.ndarray]:
    """Every point's output for one prepared sample `x` `(1, *input_shape)`, without the batch axis."""
    return {name: t[0].numpy() for name, t in forward_points(model, x).items()}


def off_fraction(values: np.ndarray, activation: str) -> float | None:
    """Share of an activated output that the activation switched off: ReLU zeros, leaky ReLU's negative side."""
    if activation not in SWITCHING or values.size == 0:
        return None
    return float(np.mean(values <= 0))


def walk_sample(outputs: dict[str, np.ndarray], points: list[Point], *, label: int, index: int = -1) -> SampleWalk:
    """Arrange one sample's outputs (from `replay`) along the network's points.

    Args:
        outputs: point name → one sample's output (no batch axis), softmax (or reconstruction) included.
        points: the network's points in order (`Run.points()` / `layer_points(net)`); each point's
            activation decides its colour scale and the switched-off share.
        label: the sample's true class.
        index: the sample's index in the test split.
    Returns: a `SampleWalk`.
    """
    recs, probs, recon = [], np.zeros(0, np.float32), None
    for p in points:
        if p.role == "probs":
            probs = np.asarray(outputs[p.name], dtype=np.float32).reshape(-1)
            continue
        if p.role == "reconstruction":  # the output an autoencoder rebuilds: drawn like the input, not as a layer
            recon = np.asarray(outputs[p.name], dtype=np.float32)
            continue
        v = np.asarray(outputs[p.name], dtype=np.float32)
        signed = not (p.role in ("activated", "pooled") and p.activation in NON_NEGATIVE)
        off = off_fraction(v, p.activation) if p.role == "activated" else None
        recs.append(PointOutput(p.name, p.role, p.layer, v, signed, off, p.layout))
    return SampleWalk(int(index), int(label), probs, tuple(recs), recon)


# --- choosing the sample -----------------------------------------------------------------
def misclassified(eval_indices: np.ndarray, eval_labels: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Test-split indices of the evaluation samples the snapshot got wrong, sorted."""
    wrong = np.asarray(pred).reshape(-1) != np.asarray(eval_labels).reshape(-1)
    return np.sort(np.asarray(eval_indices)[wrong])


def sample_pool(
    mode: str, y_test: np.ndarray, *, cls: int | None = None, wrong: np.ndarray | None = None
) -> np.ndarray:
    """Test-split indices a mode walks through: all, one true class, or the misclassified ones (sorted)."""
    if mode == "By class" and cls is not None:
        return np.flatnonzero(np.asarray(y_test) == cls)
    if mode == "Misclassified" and wrong is not None:
        return np.sort(np.asarray(wrong))
    return np.arange(len(y_test))


def step_sample(pool: np.ndarray, current: int, delta: int) -> int:
    """The sample `delta` places after `current` in `pool` (wrapping); from outside the pool, the nearest one."""
    if len(pool) == 0:
        return int(current)
    pos = int(np.searchsorted(pool, current))
    inside = pos < len(pool) and pool[pos] == current
    if not inside:  # `current` sits between pool[pos-1] and pool[pos]
        pos = pos if delta > 0 else pos - 1
        delta -= 1 if delta > 0 else -1 if delta < 0 else 0
    return int(pool[(pos + delta) % len(pool)])


def random_sample(pool: np.ndarray, rng: np.random.Generator, current: int | None = None) -> int:
    """A random member of `pool`, other than `current` when the pool has another."""
    if len(pool) == 0:
        raise ValueError("There is no sample to choose from")
    choices = pool[pool != current] if current is not None and len(pool) > 1 else pool
    return int(rng.choice(choices))
