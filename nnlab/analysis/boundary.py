"""Decision boundaries: class probabilities over a grid, in the data plane or in a PCA plane.

Analysis for the decision-boundary page (learning over time). For 2-D data the grid
lies in the raw data coordinates and goes through the dataset's own normalisation;
for images it lies in the plane of the first two principal components of the inputs,
or of a hidden layer's outputs, and is lifted back into that space and fed through
the rest of the network. Arrays and a network in, small records out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

INPUT = "input"  # the plane of the inputs themselves


@dataclass(frozen=True)
class Grid:
    """A regular grid over a rectangle of a plane: `xs` across, `ys` up."""

    xs: np.ndarray  # (W,) x coordinate of each column
    ys: np.ndarray  # (H,) y coordinate of each row (row 0 is the lowest y)

    @property
    def points(self) -> np.ndarray:
        """(H·W, 2) float32 grid points, row by row (row i holds y = ys[i])."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys), len(self.xs)


def plane_grid(points: np.ndarray, resolution: int = 100, *, margin: float = 0.1) -> Grid:
    """A `resolution`×`resolution` grid covering 2-D `points` `(N, 2)` with a `margin` (share of the range) around."""
    p = np.asarray(points, np.float64).reshape(-1, 2)
    p = p[np.isfinite(p).all(1)]
    lo, hi = (p.min(0), p.max(0)) if len(p) else (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - margin * span, hi + margin * span
    return Grid(
        np.linspace(lo[0], hi[0], resolution).astype(np.float32),
        np.linspace(lo[1], hi[1], resolution).astype(np.float32),
    )


@torch.no_grad()
def run_modules(modules: list[nn.Module], x: torch.Tensor, *, batch: int = 65536) -> torch.Tensor:
    """`x` through `modules` in order (no gradients), in batches."""
    outs = []
    for i in range(0, max(len(x), 1), batch):
        h = x[i : i + batch]
        for m in modules:
            h = m(h)
        outs.append(h)
    return torch.cat(outs)


def class_probabilities(model: nn.Module, x: torch.Tensor) -> np.ndarray:
    """Softmax of the model's logits for prepared inputs `x`: `(N, K)` float32 (model put in eval mode)."""
    model.eval()
    return torch.softmax(run_modules([model], x), dim=1).numpy()


def boundary_2d(model: nn.Module, prepare: Callable[[np.ndarray], torch.Tensor], grid: Grid) -> np.ndarray:
    """Class probabilities over a grid of raw 2-D data coordinates: `(H, W, K)`.

    `prepare` is the dataset's own normalisation (`Dataset.prepare`): grid → prepare → network.
    """
    probs = class_probabilities(model, prepare(grid.points))
    return probs.reshape(*grid.shape, -1)


def split_at(model: nn.Module, point: str) -> tuple[list[nn.Module], list[nn.Module]]:
    """The children of a sequential network up to and including `point`, and those after it."""
    names = [n for n, _ in model.named_children()]
    if point == INPUT:
        return [], list(model.children())
    if point not in names:
        raise KeyError(f"The network has no point {point!r}; its layers are {', '.join(names)}")
    i = names.index(point) + 1
    children = list(model.children())
    return children[:i], children[i:]


def point_outputs(model: nn.Module, x: torch.Tensor, point: str) -> np.ndarray:
    """Outputs of `point` (a child's name, or "input") for prepared inputs `x`, flattened: `(N, D)`."""
    model.eval()
    prefix, _ = split_at(model, point)
    return run_modules(prefix, x).flatten(1).numpy()


def unit_maps(model: nn.Module, prepare: Callable[[np.ndarray], torch.Tensor], grid: Grid, point: str) -> np.ndarray:
    """Every unit's own output at `point` over the grid of raw 2-D coordinates: `(U, H, W)`."""
    out = point_outputs(model, prepare(grid.points), point)  # (H·W, U)
    return np.ascontiguousarray(out.T.reshape(out.shape[1], *grid.shape))


@dataclass(frozen=True)
class Plane:
    """A 2-D plane through a layer's space: the mean plus two principal directions.

    Plane coordinates are in units of the samples' spread along each direction, so a
    point at (1, 0) lies one standard deviation along the first component from the mean.
    """

    point: str  # "input" or the name of the point whose outputs span the space
    mean: np.ndarray  # (D,) the samples' mean
    axes: np.ndarray  # (2, D) unit principal directions
    scale: np.ndarray  # (2,) the samples' standard deviation along each direction
    explained: np.ndarray  # (2,) share of the total variance each direction explains
    coords: np.ndarray  # (N, 2) the samples in plane coordinates

    def lift(self, uv: np.ndarray) -> np.ndarray:
        """Plane coordinates `(M, 2)` → points of the space `(M, D)`: mean + Σ uv·scale·axis."""
        return (self.mean + (np.asarray(uv, np.float32) * self.scale) @ self.axes).astype(np.float32)


def fit_plane(h: np.ndarray, point: str = INPUT, *, reference: Plane | None = None) -> Plane:
    """The plane of the first two principal components of samples `h` `(N, D)`.

    With `reference`, each direction's sign is flipped to agree with it (a PCA's signs are
    arbitrary, and an animation should not mirror itself from one frame to the next).
    """
    h = np.asarray(h, np.float64).reshape(len(h), -1)
    mean = h.mean(0)
    centred = h - mean
    total = float((centred**2).sum()) / max(len(h) - 1, 1)
    if len(h) < 2 or total <= 0:
        d = h.shape[1]
        axes = np.eye(2, d) if d >= 2 else np.zeros((2, d))
        return Plane(
            point,
            mean.astype(np.float32),
            axes.astype(np.float32),
            np.ones(2, np.float32),
            np.zeros(2, np.float32),
            np.zeros((len(h), 2), np.float32),
        )
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    wide = h.shape[1] > len(h)  # more dimensions than samples: work with the (N, N) Gram matrix instead
    with threadpool_limits(1, user_api="blas"):  # small problem: one BLAS thread is faster, and safe on busy servers
        vals, vecs = np.linalg.eigh(centred @ centred.T if wide else centred.T @ centred)
        top = vecs[:, np.argsort(vals)[::-1][:2]]
        axes = (centred.T @ top).T if wide else top.T  # (≤2, D)
    axes = axes / np.maximum(np.linalg.norm(axes, axis=1, keepdims=True), 1e-12)
    axes *= np.where(axes[np.arange(len(axes)), np.abs(axes).argmax(1)] < 0, -1.0, 1.0)[:, None]  # fixed signs
    if axes.shape[0] < 2:
        axes = np.vstack([axes, np.zeros_like(axes)])
    if reference is not None and reference.axes.shape == axes.shape:
        axes *= np.where((axes * reference.axes).sum(1, keepdims=True) < 0, -1.0, 1.0)
    proj = centred @ axes.T  # (N, 2)
    scale = proj.std(0)
    scale = np.where(scale > 0, scale, 1.0)
    explained = proj.var(0, ddof=1) / total
    return Plane(
        point,
        mean.astype(np.float32),
        axes.astype(np.float32),
        scale.astype(np.float32),
        explained.astype(np.float32),
        (proj / scale).astype(np.float32),
    )


AFFINE = (nn.Flatten, nn.Linear, nn.Conv2d, nn.Identity, nn.Dropout, nn.AvgPool2d, nn.BatchNorm1d, nn.BatchNorm2d)


@torch.no_grad()
def plane_boundary(model: nn.Module, plane: Plane, grid: Grid, point_shape: tuple[int, ...]) -> np.ndarray:
    """Class probabilities over a grid of plane coordinates: `(H, W, K)`.

    Each grid point is lifted into the space of `plane.point` (shape `point_shape` for one
    sample), then fed through the layers after that point. The grid lies on a flat plane, so
    the affine layers that come first (flatten, dense, conv, eval-mode dropout and batch norm)
    map it to a flat plane too: they run on three points only, and the grid is spread from them.
    """
    model.eval()
    _, suffix = split_at(model, plane.point)
    head = 0
    while head < len(suffix) and isinstance(suffix[head], AFFINE):
        head += 1
    basis = torch.from_numpy(plane.lift(np.array([[0, 0], [1, 0], [0, 1]], np.float32)))
    o = run_modules(suffix[:head], basis.reshape(3, *point_shape)).flatten(1)  # (3, D')
    uv = torch.from_numpy(grid.points)
    h = o[0] + uv[:, :1] * (o[1] - o[0]) + uv[:, 1:] * (o[2] - o[0])  # (H·W, D'): exact for affine layers
    h = h.reshape(-1, *run_modules(suffix[:head], basis[:1].reshape(1, *point_shape)).shape[1:])
    logits = run_modules(suffix[head:], h)
    return torch.softmax(logits, dim=1).numpy().reshape(*grid.shape, -1)


@dataclass(frozen=True)
class BoundaryMovie:
    """Class probabilities over one grid at several snapshots, with the samples drawn on top."""

    xs: np.ndarray  # (W,) grid columns
    ys: np.ndarray  # (H,) grid rows (row 0 lowest)
    probs: np.ndarray  # (T, H, W, K) float16 class probabilities
    steps: np.ndarray  # (T,) training step of each frame
    coords: np.ndarray  # (T, N, 2) or (1, N, 2): samples in the plane (one row when they do not move)
    labels: np.ndarray  # (N,) true class of each sample
    is_test: np.ndarray  # (N,) bool: test split (True) or training split (False)
    explained: np.ndarray  # (T, 2) variance share of each plane axis (NaN for raw 2-D data)
    point: str = ""  # "" for raw 2-D data, else "input" or the hidden point of the PCA plane

    @property
    def n_frames(self) -> int:
        return len(self.probs)


def points_movie(
    models: list[nn.Module],
    prepare,
    coords: np.ndarray,
    labels: np.ndarray,
    is_test: np.ndarray,
    steps,
    *,
    resolution: int = 100,
    margin: float = 0.1,
) -> BoundaryMovie:
    """The boundary of 2-D data at every model (one per snapshot), over a grid covering `coords`."""
    grid = plane_grid(coords, resolution, margin=margin)
    probs = np.stack([boundary_2d(m, prepare, grid) for m in models]).astype(np.float16)
    return BoundaryMovie(
        grid.xs,
        grid.ys,
        probs,
        np.asarray(steps),
        np.asarray(coords, np.float32)[None],
        np.asarray(labels),
        np.asarray(is_test, bool),
        np.full((len(models), 2), np.nan),
        "",
    )


def plane_movie(
    models: list[nn.Module],
    x: torch.Tensor,
    labels: np.ndarray,
    steps,
    point: str = INPUT,
    *,
    resolution: int = 100,
    margin: float = 0.05,
) -> BoundaryMovie:
    """The boundary in the PCA plane of `point` at every model, with samples `x` (prepared) on top.

    For the inputs the plane is fitted once; for a hidden point it is refitted at each
    snapshot (its outputs change), with signs kept consistent from frame to frame.
    """
    planes, shape = [], None
    for m in models:
        if point == INPUT and planes:
            planes.append(planes[0])
            continue
        m.eval()
        prefix, _ = split_at(m, point)
        h = run_modules(prefix, x)
        shape = tuple(h.shape[1:])
        planes.append(fit_plane(h.flatten(1).numpy(), point, reference=planes[-1] if planes else None))
    shape = shape or tuple(x.shape[1:])
    coords = np.stack([p.coords for p in planes])  # (T, N, 2)
    lim = float(np.percentile(np.abs(coords), 99.5)) if coords.size else 1.0
    grid = plane_grid(np.array([[-lim, -lim], [lim, lim]]), resolution, margin=margin)
    probs = np.stack([plane_boundary(m, p, grid, shape) for m, p in zip(models, planes, strict=True)])
    coords = coords[:1] if point == INPUT else coords
    return BoundaryMovie(
        grid.xs,
        grid.ys,
        probs.astype(np.float16),
        np.asarray(steps),
        coords,
        np.asarray(labels),
        np.ones(len(labels), bool),
        np.stack([p.explained for p in planes]),
        point,
    )


def region_at(movie: BoundaryMovie, t: int, coords: np.ndarray) -> np.ndarray:
    """The most likely class of frame `t`'s grid cell under each plane point `(N, 2)` (nearest cell)."""
    xy = np.asarray(coords, np.float64).reshape(-1, 2)
    col = np.abs(xy[:, :1] - movie.xs[None]).argmin(1)
    row = np.abs(xy[:, 1:] - movie.ys[None]).argmin(1)
    return np.asarray(movie.probs[t], np.float32).argmax(-1)[row, col]


def region_agreement(movie: BoundaryMovie, t: int, predictions: np.ndarray) -> float:
    """Share of the samples whose region in frame `t`'s plane is the class the network really predicts for them.

    For a plane through many dimensions this is below 1: a sample off the plane can be classified
    differently from the plane point it projects onto. Samples outside the grid count as disagreeing.
    """
    coords = np.asarray(movie.coords[min(t, len(movie.coords) - 1)], np.float64)
    if len(coords) == 0:
        return float("nan")
    inside = (
        (coords[:, 0] >= movie.xs[0])
        & (coords[:, 0] <= movie.xs[-1])
        & (coords[:, 1] >= movie.ys[0])
        & (coords[:, 1] <= movie.ys[-1])
    )
    same = region_at(movie, t, coords) == np.asarray(predictions)
    return float(np.mean(same & inside))
