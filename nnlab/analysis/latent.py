"""The latent space of an autoencoder: the map of its codes, decoding any point of it, and how it formed.

Stage: run (each snapshot's `latent/` records and weights) → analysis → `nnlab.figures.latent`. A code wider
than 2 is drawn through a PCA fitted once per run (on the last snapshot's codes), so the axes stay still; over
training each frame is turned onto the next (orthogonal Procrustes), as the Hidden layers movie keeps its axes.
Any map point goes back to a code through the same projection and is decoded by the snapshot's network; an input
of the student's own is encoded by it, placed through the same projection and rebuilt (`encoded_input_info`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .embeddings import NEIGHBOURS, InputPlace

CODE = "code"  # the layout of the point that holds the code


@dataclass(frozen=True)
class Projection:
    """From codes `(N, D)` to map coordinates `(N, 2)` and back: `xy = (z - mean) @ axes.T`, `z = mean + xy @ axes`."""

    mean: np.ndarray  # (D,)
    axes: np.ndarray  # (2, D) orthonormal rows (the identity for a 2-D code)
    explained: np.ndarray  # (2,) share of the codes' variance along each axis

    def to_map(self, codes: np.ndarray) -> np.ndarray:
        return ((np.asarray(codes, np.float64) - self.mean) @ self.axes.T).astype(np.float32)

    def to_code(self, xy: np.ndarray) -> np.ndarray:
        return (self.mean + np.asarray(xy, np.float64) @ self.axes).astype(np.float32)

    @property
    def is_pca(self) -> bool:
        return len(self.mean) > 2


@dataclass(frozen=True)
class LatentMap:
    """Every evaluation sample at its code, on the map, at one snapshot."""

    coords: np.ndarray  # (N, 2) float32 map coordinates
    labels: np.ndarray  # (N,) true class
    indices: np.ndarray  # (N,) index into the test split
    error: np.ndarray  # (N,) each sample's reconstruction error
    extent: tuple[tuple[float, float], tuple[float, float]]  # ((x0, x1), (y0, y1)) the map's drawn range
    projection: Projection
    step: int


def code_point(points) -> str | None:
    """The name of the network's code point (layout "code"), or None when it has none."""
    return next((p.name for p in points if p.layout == CODE), None)


def fit_projection(codes: np.ndarray) -> Projection:
    """The identity for codes of width ≤ 2 (padded to 2), else the first two principal axes of `codes`."""
    codes = np.asarray(codes, np.float64)
    d = codes.shape[1]
    if d <= 2:
        return Projection(np.zeros(d), np.eye(2, d), np.ones(2) / 2)
    mean = codes.mean(0)
    _, s, vt = np.linalg.svd(codes - mean, full_matrices=False)
    var = s**2
    return Projection(mean, vt[:2], (var[:2] / max(var.sum(), 1e-12)).astype(np.float32))


def extent_of(coords: np.ndarray, margin: float = 0.08) -> tuple[tuple[float, float], tuple[float, float]]:
    """The range that holds all but the outermost 0.5% of points on each axis, plus a margin."""
    lo, hi = np.percentile(coords, [0.5, 99.5], axis=0) if len(coords) else (np.zeros(2), np.ones(2))
    pad = np.maximum((hi - lo) * margin, 1e-3)
    return tuple((float(a), float(b)) for a, b in zip(lo - pad, hi + pad, strict=True))


@torch.no_grad()
def decode(model: torch.nn.Module, codes: np.ndarray) -> np.ndarray:
    """Reconstructions `(N, *input_shape)` of codes `(N, D)` by the network's decoder (eval mode)."""
    return model.decode(torch.as_tensor(np.asarray(codes, np.float32))).numpy()


@torch.no_grad()
def encode(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Codes `(N, D)` of prepared inputs `(N, *input_shape)` by the network's encoder (eval mode; a VAE's mean)."""
    return model.encode(torch.as_tensor(x, dtype=torch.float32)).numpy()


def grid_codes(projection: Projection, extent, n: int = 20) -> np.ndarray:
    """`(n * n, D)` codes of an n×n grid over the map's extent, row by row from the top (largest y) down."""
    (x0, x1), (y0, y1) = extent
    xs, ys = np.linspace(x0, x1, n), np.linspace(y1, y0, n)
    xy = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2)
    return projection.to_code(xy)


def interpolate(code_a: np.ndarray, code_b: np.ndarray, steps: int = 10) -> np.ndarray:
    """`(steps, D)` codes on the straight line from `code_a` to `code_b`, both ends included."""
    t = np.linspace(0, 1, steps)[:, None]
    return ((1 - t) * np.asarray(code_a, np.float32) + t * np.asarray(code_b, np.float32)).astype(np.float32)


def prior_codes(width: int, n: int = 16, seed: int = 0) -> np.ndarray:
    """`(n, width)` codes drawn from a VAE's prior, the standard normal."""
    return np.random.default_rng(seed).standard_normal((n, width)).astype(np.float32)


def procrustes(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """`x` `(N, 2)` turned, mirrored, scaled and moved to lie closest to `target` (orthogonal Procrustes)."""
    mx, mt = x.mean(0), target.mean(0)
    a, b = x - mx, target - mt
    u, s, vt = np.linalg.svd(a.T @ b)
    scale = s.sum() / max(float((a**2).sum()), 1e-12)
    return (scale * a @ (u @ vt) + mt).astype(np.float32)


def aligned_frames(frames: np.ndarray) -> np.ndarray:
    """`(T, N, 2)` maps, each turned onto the one after it, so the last frame stays as it is and none flips."""
    out = np.array(frames, np.float32)
    for t in range(len(out) - 2, -1, -1):
        out[t] = procrustes(out[t], out[t + 1])
    return out


def worst_samples(error: np.ndarray, labels: np.ndarray, cls: int, n: int = 8) -> np.ndarray:
    """Positions in the evaluation subset of class `cls`'s `n` worst-reconstructed samples, worst first."""
    pos = np.flatnonzero(np.asarray(labels) == cls)
    return pos[np.argsort(-np.asarray(error)[pos], kind="stable")[:n]]


def fixed_samples(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Positions in the evaluation subset of one sample per class (the first of each), in class order."""
    labels = np.asarray(labels)
    return np.array([np.flatnonzero(labels == c)[0] for c in range(n_classes) if (labels == c).any()], int)


@dataclass(frozen=True)
class EncodedInput:
    """One input of the student's own through an autoencoder: its code, its place on the map, its reconstruction."""

    code: np.ndarray  # (D,) float32
    place: InputPlace  # coords: (2,) on the map (the run's projection); neighbours: nearest evaluation samples
    reconstruction: np.ndarray  # (*input_shape) float32, prepared (normalised) as the input
    error: float  # mean squared error of the reconstruction
    probe: int | None  # the class of the nearest class mean (the recorded probe), None when it has no means


def encode_input(
    model,
    x: torch.Tensor,
    projection: Projection,
    codes: np.ndarray,
    labels: np.ndarray,
    *,
    n_classes: int,
    class_means: np.ndarray | None = None,
    k: int = NEIGHBOURS,
) -> EncodedInput:
    """Encode a prepared input `x` `(1, *shape)`, place it with `projection` (the map's own) and rebuild it.

    Its neighbours are the `k` evaluation samples whose codes `(N, D)` are nearest to its code (in the code itself,
    which is the map for a 2-D code); `class_means` `(K, D)` give the probe's class (a class without one is NaN).
    """
    code = encode(model, x)  # (1, D)
    recon = decode(model, code)  # (1, *shape)
    dist = np.linalg.norm(np.asarray(codes, np.float32) - code, axis=1)
    near = np.argsort(dist, kind="stable")[: min(k, len(dist))]
    counts = np.bincount(np.asarray(labels)[near], minlength=n_classes).astype(np.int64)
    place = InputPlace(projection.to_map(code)[0], near.astype(np.int64), counts, True)
    probe = None
    if class_means is not None and len(class_means):
        d = np.linalg.norm(np.nan_to_num(np.asarray(class_means, np.float64), nan=np.inf) - code, axis=1)
        probe = int(np.argmin(d)) if np.isfinite(d).any() else None
    error = float(((recon - np.asarray(x, np.float32)) ** 2).mean())
    return EncodedInput(code[0], place, recon[0], error, probe)


# --- the Latent space page's records, from a run ----------------------------------------------------------------
def run_projection(run) -> Projection:
    """The run's map projection, fitted once on its last snapshot's codes."""
    return fit_projection(run.snapshot(-1)["latent/code"].numpy())


def latent_info(run, k: int, projection: Projection | None = None) -> LatentMap:
    """The map of snapshot `k` of a `Run`: its evaluation samples' codes through the run's projection."""
    projection = projection or run_projection(run)
    latent = run.group(k, "latent")
    indices, labels = run.eval_set()
    coords = projection.to_map(latent["code"].numpy())
    return LatentMap(
        coords, labels, indices, latent["error"].numpy(), extent_of(coords), projection, run.snapshots[k]["step"]
    )


def movie_info(run, projection: Projection | None = None) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """`(T, N, 2)` aligned maps of every snapshot, the labels `(N,)`, and the snapshots' steps."""
    projection = projection or run_projection(run)
    frames = np.stack([projection.to_map(run.snapshot(t)["latent/code"].numpy()) for t in range(len(run))])
    return aligned_frames(frames), run.eval_set()[1], [s["step"] for s in run.snapshots]


def reconstructions_info(run, x_eval: torch.Tensor, frames: int = 8) -> tuple[np.ndarray, list[int]]:
    """Reconstructions `(S, n, *input_shape)` of prepared samples `x_eval` `(n, ...)` at `frames` evenly spaced
    snapshots (first and last included), and their steps."""
    ks = sorted({int(round(v)) for v in np.linspace(0, len(run) - 1, min(frames, len(run)))})
    with torch.no_grad():
        out = np.stack([run.model_at(k)(x_eval).numpy() for k in ks])
    return out, [run.snapshots[k]["step"] for k in ks]


def encoded_input_info(run, k: int, model, x: torch.Tensor, projection: Projection | None = None) -> EncodedInput:
    """`encode_input` at snapshot `k` of a `Run` (`model` is its network there): the run's projection, the snapshot's
    codes of the evaluation samples and its probe's class means."""
    latent = run.group(k, "latent")
    means = latent.get("class_means")
    labels = run.eval_set()[1]
    return encode_input(
        model,
        x,
        projection or run_projection(run),
        latent["code"].numpy(),
        labels,
        n_classes=len(run.class_names) if run.class_names else int(labels.max()) + 1,
        class_means=means.numpy() if means is not None else None,
    )


def class_error_info(run, k: int) -> np.ndarray:
    """`(K,)` mean reconstruction error of each class at snapshot `k`."""
    return run.group(k, "latent")["class_error"].numpy()


def as_images(x: np.ndarray, mean: np.ndarray, std: np.ndarray, *, is_image: bool = True) -> np.ndarray:
    """uint8 pictures of prepared (normalised) samples `(N, *input_shape)`: images `(N, H, W[, 3])` on their
    [0, 1] scale; other samples as strips of 8×8-pixel blocks, one per value, scaled over the batch."""
    x = np.asarray(x, np.float32)
    if is_image:
        raw = np.clip(x * np.asarray(std) + np.asarray(mean), 0, 1)  # (N, C, H, W)
        img = np.moveaxis((raw * 255).round().astype(np.uint8), 1, -1)
        return img[..., 0] if img.shape[-1] == 1 else img
    flat = x.reshape(len(x), 1, -1)
    lo, hi = float(flat.min(initial=0)), float(flat.max(initial=1))
    strip = ((flat - lo) / (hi - lo or 1.0) * 255).round().astype(np.uint8)
    return np.kron(strip, np.ones((8, 8), np.uint8))  # (N, 8, 8·D)


def decoded_images(model, codes: np.ndarray, dataset) -> np.ndarray:
    """uint8 pictures of what the network decodes from `codes` `(N, D)` (see `as_images`)."""
    return as_images(decode(model, codes), dataset.mean, dataset.std, is_image=dataset.is_image)
