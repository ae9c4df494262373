"""Hidden-layer embeddings: one point's outputs for a set of samples, mapped to 2-D or 3-D, at a snapshot or over all.

Stage: run (weights of each snapshot, replayed) → analysis → `nnlab.figures.embeddings`. The map of one snapshot is
`nnlab.analysis.data.embed` (PCA, t-SNE or UMAP) of the outputs; over training, PCA at every snapshot with each axis's
sign matched to the snapshot before, and every frame scaled to the same spread, so the picture moves but never flips.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..data import balanced_indices
from ..models import forward_points, point_of, sample_vectors
from .boundary import INPUT, point_outputs
from .data import Embedding, embed, features


def layer_embedding(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    labels: np.ndarray,
    point: str,
    method: str = "PCA",
    *,
    prepare: Callable = torch.as_tensor,
    dims: int = 2,
    n: int = 1000,
    seed: int = 0,
) -> Embedding:
    """Embed the outputs at `point` ("input" or a child's name) of a class-balanced, seeded subset of `n` samples `x`.

    Only the subset is passed through `prepare` (a `Dataset.prepare` for raw samples; the default takes `x` as the
    model's input already) and the network; each output unit is standardised. The `indices` point into `x`.
    """
    return embed(
        x,
        np.asarray(labels),
        method,
        dims=dims,
        n=n,
        seed=seed,
        prepare=lambda xs: features(outputs(model, prepare(xs), point)),
    )


def outputs(model: nn.Module, x: torch.Tensor, point: str) -> np.ndarray:
    """`(N, D)` float32 outputs of `point` for prepared inputs `x` (the inputs themselves for "input")."""
    if point == INPUT:
        return x.flatten(1).numpy().astype(np.float32)
    if not hasattr(model, "config"):  # your own module: names are modules
        return point_outputs(model, x, point).astype(np.float32)
    p = point_of(model, point)
    if p.layout == "tokens":  # one vector per sample: the class token
        with torch.no_grad():
            return sample_vectors(p.layout, forward_points(model, x)[point]).numpy().astype(np.float32)
    return point_outputs(model, x, p.module).astype(np.float32)


@dataclass(frozen=True)
class EmbeddingMovie:
    """The same samples' PCA map at a point of the network, at every snapshot."""

    coords: np.ndarray  # (T, n, dims) float32; every frame scaled to unit spread
    labels: np.ndarray  # (n,) class of each sample
    indices: np.ndarray  # (n,) index of each sample in the array that was embedded
    explained: np.ndarray  # (T, dims) share of the variance along each axis
    point: str


def pca_movie(
    models: Iterable[nn.Module],
    x: np.ndarray | torch.Tensor,
    labels: np.ndarray,
    point: str,
    *,
    prepare: Callable = torch.as_tensor,
    dims: int = 2,
    n: int = 1000,
    seed: int = 0,
    progress=None,
) -> EmbeddingMovie:
    """PCA of `point`'s outputs for one class-balanced, seeded subset of `x`, at each model (one per snapshot).

    The subset is passed through `prepare` once (see `layer_embedding`); the `indices` point into `x`.

    `models` is read one at a time (a generator keeps one snapshot's network in memory); `progress(done)` is called
    after each when given.
    """
    from sklearn.decomposition import PCA

    labels = np.asarray(labels)
    idx = balanced_indices(labels, n, seed) if n < len(labels) else np.arange(len(labels))
    xs = prepare(x[idx])
    frames, explained, prev = [], [], None
    for t, model in enumerate(models):
        h = features(outputs(model, xs, point))  # (n, D) standardised
        k = min(dims, h.shape[1], max(len(idx) - 1, 1))
        pca = PCA(n_components=k, random_state=seed)
        c = np.pad(pca.fit_transform(h), ((0, 0), (0, dims - k)))
        if prev is not None:  # an axis's sign is arbitrary: keep the one that agrees with the last frame
            c *= np.where(np.sum(c * prev, axis=0) < 0, -1.0, 1.0)
        spread = float(np.sqrt((c**2).sum(1).mean())) or 1.0
        c = (c / spread).astype(np.float32)
        frames.append(c)
        explained.append(np.pad(pca.explained_variance_ratio_, (0, dims - k)).astype(np.float32))
        prev = c
        if progress is not None:
            progress(t + 1)
    coords = np.stack(frames) if frames else np.zeros((0, len(idx), dims), np.float32)
    ratio = np.stack(explained) if explained else np.zeros((0, dims), np.float32)
    return EmbeddingMovie(coords, labels[idx], idx, ratio, point)


# --- the Hidden layers page's records, from a run -------------------------------------------------------------------
def embedding_info(
    run, k: int, dataset, point: str, method: str = "PCA", *, dims: int = 2, n: int = 1000, model=None
) -> Embedding:
    """`point`'s map at snapshot `k` of a `Run`, for a class-balanced subset of its dataset's test split.

    `model` is the network at snapshot `k` when the caller already has it (else it is rebuilt from the run).
    """
    model = model if model is not None else run.model_at(k)
    return layer_embedding(
        model, dataset.x_test, dataset.y_test, point, method, prepare=dataset.prepare, dims=dims, n=n
    )


def embedding_movie_info(run, dataset, point: str, *, n: int = 1000) -> EmbeddingMovie:
    """PCA of `point` at every snapshot of a `Run` for the same test samples, one network in memory at a time."""
    models = (run.model_at(t) for t in range(len(run)))
    return pca_movie(models, dataset.x_test, dataset.y_test, point, prepare=dataset.prepare, n=n)


# --- your own input on the map ----------------------------------------------------------------------------------
NEIGHBOURS = 10  # how many nearest samples decide where an input "lands"


@dataclass(frozen=True)
class InputPlace:
    """Where one input of your own lands on a map of `point`, and among which classes."""

    coords: np.ndarray  # (dims,) float32 position on the map
    neighbours: np.ndarray  # (k,) rows of the map's samples nearest to the input, nearest first
    counts: np.ndarray  # (K,) int64 how many of those neighbours are of each class
    exact: bool  # True: projected by the map's own PCA; False: placed at its neighbours' centre (t-SNE, UMAP)

    @property
    def majority(self) -> int:
        return int(np.argmax(self.counts))

    def words(self, class_names, what: str = "your drawing") -> str:
        """ "your drawing lands among the 7s (8 of its 10 nearest neighbours)"."""
        c, k = self.majority, int(self.counts.sum())
        return f"{what} lands among the {class_names[c]}s ({int(self.counts[c])} of its {k} nearest neighbours)"


def place_input(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    emb: Embedding,
    own: torch.Tensor,
    point: str,
    *,
    prepare: Callable = torch.as_tensor,
    n_classes: int | None = None,
    k: int = NEIGHBOURS,
    seed: int = 0,
) -> InputPlace:
    """Place a prepared input `own` `(1, *shape)` on `emb`, the map of `point` made by `layer_embedding` from `x`.

    PCA maps project it with the same PCA (fitted again on the same standardised outputs, each axis's sign matched
    to the map) and take its nearest neighbours on the map. t-SNE and UMAP cannot place a new point: its nearest
    neighbours are found in the layer's own space instead, and it is drawn at their centre (`exact` is False).
    """
    labels = np.asarray(emb.labels)
    n_classes = int(n_classes if n_classes is not None else (labels.max() + 1 if len(labels) else 0))
    if len(emb.coords) == 0:
        return InputPlace(np.zeros(emb.dims, np.float32), np.zeros(0, np.int64), np.zeros(n_classes, np.int64), False)
    h = outputs(model, prepare(x[emb.indices]), point)  # (n, D), the map's samples in its order
    mine = outputs(model, own, point)  # (1, D)
    mean, std = h.mean(0), h.std(0)
    std = np.where(std > 1e-8, std, 1.0)
    h, mine = (h - mean) / std, (mine - mean) / std
    exact = emb.method == "PCA"
    if exact:
        from sklearn.decomposition import PCA

        dims = min(emb.dims, h.shape[1])
        pca = PCA(n_components=dims, random_state=seed).fit(h)
        signs = np.where(np.sum(pca.transform(h) * emb.coords[:, :dims], axis=0) < 0, -1.0, 1.0)
        coords = np.pad(pca.transform(mine)[0] * signs, (0, emb.dims - dims))
        dist = np.linalg.norm(emb.coords - coords, axis=1)
    else:
        dist = np.linalg.norm(h - mine, axis=1)
    near = np.argsort(dist, kind="stable")[: min(k, len(dist))]
    if not exact:
        coords = emb.coords[near].mean(0)
    counts = np.bincount(labels[near], minlength=n_classes).astype(np.int64)
    return InputPlace(np.asarray(coords, np.float32), near.astype(np.int64), counts, exact)


def input_place_info(run, k: int, dataset, emb: Embedding, own: torch.Tensor, point: str, *, model=None) -> InputPlace:
    """`place_input` on a `Run`'s map at snapshot `k` (from `embedding_info`), for the dataset's test split."""
    model = model if model is not None else run.model_at(k)
    return place_input(model, dataset.x_test, emb, own, point, prepare=dataset.prepare, n_classes=dataset.n_classes)
