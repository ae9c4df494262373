"""The learned token embeddings of a transformer: its class token and its position embeddings, over training.

Stage: run (the `param/` group of every snapshot) → analysis → `nnlab.figures.positions` (Weight evolution page).
A network has them when it declares attention points over N tokens and holds a parameter of one vector per token
`(1, N, E)` (the position embeddings, token 0 the class token's, then the patches row by row) and one of a single
vector `(1, 1, E)` (the class token). Pure: snapshot arrays in, small records of numpy arrays out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .attention import attention_points, run_grid


@dataclass(frozen=True)
class TokenHistory:
    """A transformer's class token and position embeddings at every snapshot."""

    steps: np.ndarray  # (T,) training step of each snapshot
    pos: np.ndarray  # (T, N, E) float32 position embeddings: token 0 the class token's, then the patches row by row
    cls: np.ndarray | None  # (T, E) float32 the class token itself; None when the network has none
    grid: tuple[int, int]  # patches down and across
    pos_param: str  # the parameters that hold them ("embed.pos", "embed.cls")
    cls_param: str | None


def token_params(params: Mapping, n_tokens: int) -> tuple[str | None, str | None]:
    """The names of the position embeddings `(1, n_tokens, E)` and of the class token `(1, 1, E)` among `params`
    (name → array, one snapshot's `param/` group); None for one that is missing."""
    pos = [k for k, v in params.items() if len(v.shape) == 3 and tuple(v.shape[:2]) == (1, n_tokens)]
    cls = [k for k, v in params.items() if len(v.shape) == 3 and tuple(v.shape[:2]) == (1, 1)]
    return (pos[0] if pos else None), (cls[0] if cls else None)


def token_history(run, *, points=None) -> TokenHistory | None:
    """The class token and position embeddings of every snapshot of a `Run` (`points`: its declared points, if at
    hand); None when its network has no attention or no position embeddings."""
    points = points if points is not None else run.points()
    att = attention_points(points)
    if not att or not len(run):
        return None
    pos_key, cls_key = token_params(run.group(0, "param"), att[0].shape[-1])
    if pos_key is None:
        return None
    snaps = [run.group(k, "param") for k in range(len(run))]
    pos = np.stack([s[pos_key][0].float().numpy() for s in snaps])  # (T, N, E)
    cls = np.stack([s[cls_key][0, 0].float().numpy() for s in snaps]) if cls_key else None  # (T, E)
    steps = np.array([s["step"] for s in run.snapshots[: len(run)]])
    return TokenHistory(steps, pos, cls, run_grid(run, points), pos_key, cls_key)


def position_similarity(pos: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """Cosine similarity `(P, rows, cols)` of the patch tokens' position embeddings `(1 + P, E)` (class token first):
    map i is how alike patch i's embedding is to every patch's, laid out on the patch grid."""
    e = np.asarray(pos, np.float64)[1:]
    e = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    return (e @ e.T).reshape(len(e), *grid).astype(np.float32)


def grid_score(similarity: np.ndarray, grid: tuple[int, int]) -> float:
    """How much the position embeddings know the 2-D grid: the correlation, over every pair of different patches,
    between their embeddings' cosine similarity `(P, rows, cols)` and minus their distance on the grid (near 0 for
    random embeddings, towards 1 when neighbours on the image are alike)."""
    rows, cols = np.meshgrid(np.arange(grid[0]), np.arange(grid[1]), indexing="ij")
    xy = np.stack([rows.ravel(), cols.ravel()], 1).astype(np.float64)  # (P, 2)
    dist = np.linalg.norm(xy[:, None] - xy[None], axis=-1)  # (P, P)
    sim = np.asarray(similarity, np.float64).reshape(len(xy), len(xy))
    off = ~np.eye(len(xy), dtype=bool)
    if off.sum() < 2 or np.std(sim[off]) == 0 or np.std(dist[off]) == 0:
        return 0.0
    return float(np.corrcoef(sim[off], -dist[off])[0, 1])


def describe_positions(similarity: np.ndarray, grid: tuple[int, int]) -> str:
    """What the similarity maps `(P, rows, cols)` show, in words, with their `grid_score`."""
    r = grid_score(similarity, grid)
    if r >= 0.3:
        return (
            f"Neighbouring patches have alike position embeddings (similarity against closeness on the grid: "
            f"correlation {r:+.2f}): the network has learned the 2-D layout of the image."
        )
    if r <= -0.15:
        return (
            f"Patches far apart are more alike than neighbours (correlation of similarity with closeness on the "
            f"grid: {r:+.2f}): the embeddings mark what places have in common rather than a 2-D layout, such as "
            "the corners of a digit, which are always empty."
        )
    return (
        f"The similarity hardly follows closeness on the grid (correlation {r:+.2f}): no 2-D layout learned (yet), "
        "as at the first snapshot, when the embeddings are random."
    )
