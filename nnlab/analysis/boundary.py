"""Decision boundaries: class probabilities over a grid, in the data plane or in a PCA plane.

Analysis for the decision-boundary page (learning over time). For 2-D data the grid
lies in the raw data coordinates and goes through the dataset's own normalisation;
for images it lies in the plane of the first two principal components of the inputs,
or of a hidden point's outputs, and is lifted back into that space and fed through
the rest of the network. Arrays and a network in, small records out; the info getters
at the end (`data_plane_movie`, `pca_plane_movie`, `unit_maps_info`) take a `Run`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from ..capture import Capture

if TYPE_CHECKING:  # annotations only: the getters call a run's methods, so analysis does not import the runs package
    from ..data import Dataset
    from ..models import Point
    from ..runs import Run

INPUT = "input"  # the plane of the inputs themselves
HIDDEN_ROLES = ("raw", "norm", "activated", "pooled")  # the points between the input and the output
PLANE_ROLES = ("activated", "pooled")  # the points whose outputs may span a plane: after the nonlinearity


@dataclass(frozen=True)
class Grid:
    """A regular grid over a rectangle of a plane: `xs` across, `ys` up."""

    xs: np.ndarray  # (W,) x coordinate of each column
    ys: np.ndarray  # (H,) y coordinate of each row (row 0 is the lowest y)

    @property
    def xy(self) -> np.ndarray:
        """(H·W, 2) float32 positions of the grid's cells, row by row (row i holds y = ys[i])."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.ys), len(self.xs)


def plane_grid(coords: np.ndarray, resolution: int = 100, *, margin: float = 0.1) -> Grid:
    """A `resolution`×`resolution` grid covering 2-D `coords` `(N, 2)` with a `margin` (share of the range) around."""
    p = np.asarray(coords, np.float64).reshape(-1, 2)
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
    probs = class_probabilities(model, prepare(grid.xy))
    return probs.reshape(*grid.shape, -1)


def split_at(model: nn.Module, module: str) -> tuple[list[nn.Module], list[nn.Module]]:
    """The children of a sequential network up to and including the child `module`, and those after it.

    For "input" the prefix is empty and the suffix is the whole network (its children, when sequential).
    """
    if module == INPUT:
        return [], list(model.children()) if isinstance(model, nn.Sequential) else [model]
    names = [n for n, _ in model.named_children()] if isinstance(model, nn.Sequential) else []
    if module not in names:
        raise KeyError(f"{module!r} is not a layer of a sequential network; its layers are {', '.join(names)}")
    i = names.index(module) + 1
    children = list(model.children())
    return children[:i], children[i:]


@torch.no_grad()
def point_outputs(model: nn.Module, x: torch.Tensor, module: str) -> np.ndarray:
    """Outputs of the module named `module` (dotted, anywhere in the tree; or "input") for prepared `x`: `(N, D)`.

    A child of a sequential network runs only the layers up to it; any other module is captured on a full pass.
    """
    model.eval()
    if module == INPUT or (isinstance(model, nn.Sequential) and module in dict(model.named_children())):
        return run_modules(split_at(model, module)[0], x).flatten(1).numpy()
    with Capture(model, [module]) as cap:
        model(x)
    return cap[module].flatten(1).numpy()


def unit_maps(model: nn.Module, prepare: Callable[[np.ndarray], torch.Tensor], grid: Grid, module: str) -> np.ndarray:
    """Every unit's own output at the module `module` over the grid of raw 2-D coordinates: `(U, H, W)`."""
    out = point_outputs(model, prepare(grid.xy), module)  # (H·W, U)
    return np.ascontiguousarray(out.T.reshape(out.shape[1], *grid.shape))


@dataclass(frozen=True)
class Plane:
    """A 2-D plane through a layer's space: the mean plus two principal directions.

    Plane coordinates are in units of the samples' spread along each direction, so
    (1, 0) lies one standard deviation along the first component from the mean.
    """

    point: str  # "input" or the name of the module whose outputs span the space
    mean: np.ndarray  # (D,) the samples' mean
    axes: np.ndarray  # (2, D) unit principal directions
    scale: np.ndarray  # (2,) the samples' standard deviation along each direction
    explained: np.ndarray  # (2,) share of the total variance each direction explains
    coords: np.ndarray  # (N, 2) the samples in plane coordinates

    def lift(self, uv: np.ndarray) -> np.ndarray:
        """Plane coordinates `(M, 2)` → vectors of the space `(M, D)`: mean + Σ uv·scale·axis."""
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

    Each grid cell is lifted into the space of `plane.point` (shape `point_shape` for one
    sample), then fed through the layers after that point. The grid lies on a flat plane, so
    the affine layers that come first (flatten, dense, conv, eval-mode dropout and batch norm)
    map it to a flat plane too: they run on three positions only, and the grid is spread from them.
    """
    model.eval()
    _, suffix = split_at(model, plane.point)
    head = 0
    while head < len(suffix) and isinstance(suffix[head], AFFINE):
        head += 1
    basis = torch.from_numpy(plane.lift(np.array([[0, 0], [1, 0], [0, 1]], np.float32)))
    o = run_modules(suffix[:head], basis.reshape(3, *point_shape)).flatten(1)  # (3, D')
    uv = torch.from_numpy(grid.xy)
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
    dims: int = 2  # how many numbers one sample has where the plane lies (the plane hides all but two)

    @property
    def n_frames(self) -> int:
        return len(self.probs)


def data_movie(
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
    """The boundary of 2-D data at every model (one per snapshot), over a grid covering the samples `coords`."""
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
        2,
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

    `point` is "input" or a child of the sequential network. For the inputs the plane is fitted
    once; for a hidden point it is refitted at each snapshot (its outputs change), with signs
    kept consistent from frame to frame.
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
        math.prod(shape),
    )


def region_at(movie: BoundaryMovie, t: int, coords: np.ndarray) -> np.ndarray:
    """The most likely class of frame `t`'s grid cell under each position `(N, 2)` of the plane (nearest cell)."""
    xy = np.asarray(coords, np.float64).reshape(-1, 2)
    col = np.abs(xy[:, :1] - movie.xs[None]).argmin(1)
    row = np.abs(xy[:, 1:] - movie.ys[None]).argmin(1)
    return np.asarray(movie.probs[t], np.float32).argmax(-1)[row, col]


def region_agreement(movie: BoundaryMovie, t: int, predictions: np.ndarray) -> float:
    """Share of the samples whose region in frame `t`'s plane is the class the network really predicts for them.

    For a plane through many dimensions this is below 1: a sample off the plane can be classified
    differently from the position it projects onto. Samples outside the grid count as disagreeing.
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


# --- info getters: a run in, the records the boundary figures need out ---------------------------------------
def unit_map_points(points: list[Point]) -> list[Point]:
    """The points that can be drawn as one map per unit over the data plane: hidden outputs, one value per unit."""
    return [p for p in points if p.role in HIDDEN_ROLES and p.layout in ("vector", "code")]


def plane_points(points: list[Point]) -> list[Point]:
    """The hidden points whose outputs may span a PCA plane: after the nonlinearity, and a layer of the network
    itself (the rest of the network after the point then decides the class), of any layout (flattened)."""
    return [p for p in points if p.role in PLANE_ROLES and p.module and "." not in p.module]


def _models(run: Run) -> tuple[list[nn.Module], np.ndarray]:
    """The network at every snapshot of `run` (eval mode), and each snapshot's step."""
    n = len(run)
    return [run.model_at(k) for k in range(n)], np.array([s["step"] for s in run.snapshots[:n]])


def _module(run: Run, point: str) -> str:
    """The dotted module name of the run's point `point` ("input" stays "input")."""
    if point == INPUT:
        return INPUT
    modules = {p.name: p.module for p in run.points() if p.module}
    if point not in modules:
        raise KeyError(f"The network of run {run.id!r} has no point {point!r}; it has {', '.join(modules)}")
    return modules[point]


def data_plane_movie(
    run: Run, resolution: int = 100, *, data: Dataset | None = None, frame: Callable | None = None
) -> BoundaryMovie:
    """The boundary over the plane of a run's 2-D data at every snapshot, with every training and test sample.

    Args:
        run: a run on 2-D data.
        resolution: grid cells per side.
        data: the run's dataset as `run.dataset()` gives it (loaded when not given).
        frame: `frame(k, grid) -> (H, W, K)` probabilities of snapshot `k`, for a caller that keeps frames between
            calls (then a run still training costs only its new snapshots); default: replay snapshot `k`.
    Returns: a `BoundaryMovie` with one frame per snapshot and `point` "".
    """
    ds = data if data is not None else run.dataset()
    coords = np.concatenate([ds.x_train, ds.x_test]).astype(np.float32)  # (N, 2)
    labels = np.concatenate([ds.y_train, ds.y_test])
    is_test = np.r_[np.zeros(len(ds.y_train), bool), np.ones(len(ds.y_test), bool)]
    grid = plane_grid(coords, resolution)
    frame = frame or (lambda k, g: boundary_2d(run.model_at(k), ds.prepare, g))
    n = len(run)
    probs = np.stack([frame(k, grid) for k in range(n)]).astype(np.float16)  # (T, H, W, K)
    steps = np.array([s["step"] for s in run.snapshots[:n]])
    return BoundaryMovie(grid.xs, grid.ys, probs, steps, coords[None], labels, is_test, np.full((n, 2), np.nan))


def pca_plane_movie(
    run: Run, point: str = INPUT, resolution: int = 100, *, data: Dataset | None = None
) -> BoundaryMovie:
    """The boundary in the PCA plane of the inputs or of a hidden point at every snapshot, with the evaluation samples.

    Args:
        run: a run on any data.
        point: "input", or one of `plane_points(run.points())` by name.
        resolution: grid cells per side.
        data: the run's dataset as `run.dataset()` gives it (loaded when not given).
    Returns: a `BoundaryMovie` with one frame per snapshot; `point` and `dims` say where the plane lies.
    """
    ds = data if data is not None else run.dataset()
    idx, labels = run.eval_set()
    module = _module(run, point)
    models, steps = _models(run)
    movie = plane_movie(models, ds.prepare(ds.x_test[idx]), labels, steps, module, resolution=resolution)
    return replace(movie, point=point)


@dataclass(frozen=True)
class UnitMaps:
    """Every unit's output at one point over the data plane, at one snapshot."""

    maps: np.ndarray  # (U, H, W) float32, row 0 lowest
    point: str  # the point's name
    step: int  # the snapshot's training step
    signed: bool  # some output is below zero (raw, tanh): draw on a diverging scale


def unit_maps_info(run: Run, k: int, point: str, resolution: int = 40, *, data: Dataset | None = None) -> UnitMaps:
    """What each unit of `point` (one of `unit_map_points`) computes over the plane of the run's 2-D data at
    snapshot `k`, on a `resolution`×`resolution` grid covering the samples (`data` as in `data_plane_movie`)."""
    ds = data if data is not None else run.dataset()
    grid = plane_grid(np.concatenate([ds.x_train, ds.x_test]), resolution)
    maps = unit_maps(run.model_at(k), ds.prepare, grid, _module(run, point))
    signed = bool(maps.size and np.nanmin(maps) < 0)
    return UnitMaps(maps, point, int(run.snapshots[k]["step"]), signed)
