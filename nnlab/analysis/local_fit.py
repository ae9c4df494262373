"""LIME on the plane: a straight line that stands in for the network's decision near one point of 2-D data.

Stage: run (one snapshot's network) → analysis → `nnlab.figures.boundary.add_local_fit`. The recipe of Ribeiro et
al. 2016 ("Why should I trust you?"): draw neighbours around the point, ask the network, weight each neighbour by
its closeness, and fit a weighted linear model. What is fitted is the margin of the predicted class over the
runner-up (their logit difference), so the fit's zero line is the local boundary and its level line through the
point shows which way the boundary runs there. The score says how far to trust the straight line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

SAMPLES = 500  # neighbours drawn around the point
SPREAD = 0.1  # their standard deviation, as a share of the data's range on each axis
KERNEL = 1.0  # closeness weight exp(-r² / (2·KERNEL²)), r in standard deviations of the draw


@dataclass(frozen=True)
class LocalFit:
    """A weighted linear fit of the margin `pred − runner-up` around one point of the plane, in data coordinates."""

    point: np.ndarray  # (2,) the point explained
    pred: int  # the class the network picks there
    other: int  # the runner-up class
    weights: np.ndarray  # (2,) the fit's slope: how the margin grows along x₁ and x₂
    margin: float  # the fit's margin at the point (> 0: the predicted class wins)
    score: float  # weighted R² of the fit: 1, a straight line says it all; near 0, the boundary bends here
    agreement: float  # weighted share of neighbours the line and the network put on the same side
    radius: np.ndarray  # (2,) the draw's standard deviation on each axis: how local "local" is

    def level_line(self, reach: float = 2.5) -> np.ndarray:
        """Two ends `(2, 2)` of the line through the point along which the fitted margin stays the same."""
        along = np.array([-self.weights[1], self.weights[0]])
        return self._segment(self.point, along, reach)

    def zero_line(self, reach: float = 2.5) -> np.ndarray | None:
        """Two ends of the fit's boundary (margin 0) near the point, or None if the fit is flat."""
        norm2 = float(self.weights @ self.weights)
        if norm2 == 0:
            return None
        foot = self.point - self.margin * self.weights / norm2  # the nearest point where the fit says 0
        return self._segment(foot, np.array([-self.weights[1], self.weights[0]]), reach)

    def _segment(self, centre, direction, reach) -> np.ndarray:
        d = direction / (np.linalg.norm(direction / self.radius) or 1.0)  # a step of one draw's spread
        return np.stack([centre - reach * d, centre + reach * d])

    def words(self, names: list[str]) -> str:
        """What the fit says, in words."""
        trust = (
            "a straight line describes the network well here"
            if self.score >= 0.7
            else ("the boundary bends here, so the straight line is only a rough guide")
        )
        return (
            f"LIME's local fit of **{names[self.pred]}** against **{names[self.other]}**: the line and the network "
            f"agree on {self.agreement:.0%} of the neighbours (weighted R² {self.score:.2f}): {trust}."
        )


def local_fit(
    model: nn.Module,
    prepare: Callable[[np.ndarray], torch.Tensor],
    point: np.ndarray,
    spread: np.ndarray,
    *,
    samples: int = SAMPLES,
    seed: int = 0,
) -> LocalFit:
    """LIME around `point` (2,) of raw 2-D data; `spread` (2,): the data's range per axis; `prepare`: the dataset's
    own normalisation. Seeded: the same point gets the same fit."""
    point = np.asarray(point, np.float64)
    radius = SPREAD * np.maximum(np.asarray(spread, np.float64), 1e-6)
    rng = np.random.default_rng(seed)
    z = point + rng.normal(size=(samples, 2)) * radius  # (S, 2)
    z[0] = point
    model.eval()
    with torch.no_grad():
        logits = model(prepare(z.astype(np.float32))).double().numpy()  # (S, K)
    order = np.argsort(-logits[0])
    pred, other = int(order[0]), int(order[1])
    m = logits[:, pred] - logits[:, other]  # the margin the fit stands in for
    r2 = (((z - point) / radius) ** 2).sum(1)
    w = np.exp(-r2 / (2 * KERNEL**2))
    design = np.column_stack([np.ones(samples), z - point])  # (S, 3): intercept at the point, then the slopes
    root = np.sqrt(w)[:, None]
    coef = np.linalg.lstsq(design * root, m * root[:, 0], rcond=None)[0]
    fitted = design @ coef
    mean = np.average(m, weights=w)
    total = np.average((m - mean) ** 2, weights=w)
    score = 1.0 - np.average((m - fitted) ** 2, weights=w) / total if total > 0 else 1.0
    agreement = float(np.average(np.sign(fitted) == np.sign(m), weights=w))
    return LocalFit(point, pred, other, coef[1:], float(coef[0]), float(score), agreement, radius)


def run_local_fit(run, k: int, dataset, point, *, model=None) -> LocalFit:
    """Snapshot `k` of a `Run` on 2-D data: LIME's local fit around `point` (raw data coordinates)."""
    x = np.concatenate([dataset.x_train, dataset.x_test]).reshape(-1, 2)
    spread = x.max(0) - x.min(0)
    return local_fit(run.model_at(k) if model is None else model, dataset.prepare, np.asarray(point), spread)
