"""Sparse autoencoders: a larger set of directions, each meaning one thing, learnt from one point's activations.

Stage: run (one snapshot's network, replayed over the training split) → analysis → `nnlab.analysis.features`.
A TopK SAE after Gao et al. 2024, "Scaling and evaluating sparse autoencoders" (arXiv:2406.04093):

    x̃ = s · x                     inputs scaled so that E‖x̃‖² = d_in (s fixed from the training vectors)
    z = ReLU(TopK(W_enc (x̃ − b_pre) + b_enc))   only the k largest pre-activations of a row are kept
    x̂ = W_dec z + b_pre           W_dec's columns (one per feature) kept at unit norm
    loss = ‖x̃ − x̂‖²/σ² + 1/32 · ‖e − W_dec z_aux‖²/σ_e²   (AuxK: e = x̃ − x̂ without gradient; z_aux keeps the k_aux
                                                     largest pre-activations among the dead latents only)

b_pre starts at the geometric median of the (scaled) training vectors, W_enc at W_decᵀ. After every step the
decoder's columns are set back to unit norm, and before it the gradient's component along each column is removed.
A point's vectors: a dense layer's or a code's output per sample, a conv layer's channels at each position, a
ViT's residual stream at each token (`point_vectors`).

The job contract (nnlab.jobs runs it in a worker):

    train_in_run(folder: Path, point: str, snapshot: int | None, width: int, k: int, *,
                 progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 seed: int = 0, epochs: int | None = None) -> Path | None

trains on the run's activations at `snapshot` (None: the last), reports (fraction 0..1, words), returns None and
saves nothing once `should_stop()` is true, else saves atomically under `<run>/features/<name>/` and returns that
folder. `SaeSpec` holds the same fields; `train_spec(folder, spec, ...)` is the same call.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..runs.sae_files import (  # noqa: F401  (re-exported: what the analysis stage names too)
    FEATURES_DIR,
    MAX_SAE_PARAMS,
    MAX_WIDTH,
    NAME_RE,
    SAE_FORMAT,
    check_entry,
    check_sae_files,
    list_saes,
    point_width,
    sae_name,
    sae_shapes,
)
from ..runs.store import RunError, atomic_save_tensors, atomic_write_bytes

AUX_COEF = 1 / 32  # Gao et al.'s α for the AuxK loss
MAX_VECTORS = 200_000  # training vectors kept from one point (a conv layer's positions are sampled down to this)
MAX_VECTOR_BYTES = 512 * 2**20  # the training vectors in memory
BATCH = 512  # vectors per step
LR = 4e-3  # Adam's learning rate (the scaled inputs make it independent of the layer's own scale)
MIN_STEPS, MAX_STEPS = 1000, 3000  # the default training length in steps, whatever the data's size


@dataclass(frozen=True)
class SaeSpec:
    """What to train: an SAE of `width` features, `k` active, on `point` at `snapshot` of a run."""

    point: str  # a declared point of the run's network
    snapshot: int | None = None  # index into the run's snapshots; None: the last
    width: int = 256  # number of features (latents)
    k: int = 8  # features active per vector
    seed: int = 0
    epochs: int | None = None  # passes over the training vectors; None: enough for MIN_STEPS..MAX_STEPS steps

    def check(self, d_in: int) -> None:
        """ValueError in words for a width or k this server will not train on a point of `d_in` values."""
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(f"The number of features must be between 1 and {MAX_WIDTH:,}; got {self.width!r}")
        if not isinstance(self.k, int) or not 1 <= self.k <= self.width:
            raise ValueError(
                f"k (features active at once) must be between 1 and the width {self.width}; got {self.k!r}"
            )
        if 2 * self.width * d_in > MAX_SAE_PARAMS:
            raise ValueError(
                f"{self.width:,} features on {d_in:,} values would hold {2 * self.width * d_in:,} weights, more than "
                f"this server's limit of {MAX_SAE_PARAMS:,}: choose fewer features"
            )
        if self.epochs is not None and (not isinstance(self.epochs, int) or not 1 <= self.epochs <= 10_000):
            raise ValueError(f"epochs must be a whole number from 1 to 10,000; got {self.epochs!r}")


class TopKSae(nn.Module):
    """The TopK sparse autoencoder (module docstring) on inputs already scaled by `scale`."""

    def __init__(self, d_in: int, width: int, k: int, *, scale: float = 1.0, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        w_dec = torch.randn(d_in, width, generator=gen)  # (d, F)
        w_dec /= w_dec.norm(dim=0, keepdim=True)
        self.w_dec = nn.Parameter(w_dec)
        self.w_enc = nn.Parameter(w_dec.t().clone())  # (F, d)
        self.b_enc = nn.Parameter(torch.zeros(width))
        self.b_pre = nn.Parameter(torch.zeros(d_in))
        self.k = k
        self.register_buffer("scale", torch.tensor(float(scale)))  # x̃ = scale · x

    @property
    def d_in(self) -> int:
        return self.w_dec.shape[0]

    @property
    def width(self) -> int:
        return self.w_dec.shape[1]

    def pre_activations(self, x_scaled: torch.Tensor) -> torch.Tensor:
        """W_enc (x̃ − b_pre) + b_enc: `(N, F)`."""
        return (x_scaled - self.b_pre) @ self.w_enc.t() + self.b_enc

    def topk(self, pre: torch.Tensor, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The codes `(N, F)`: ReLU of the k largest pre-activations of each row, zero elsewhere; and their indices
        `(N, k)` (the k selected latents; ReLU may zero some of them)."""
        values, idx = pre.topk(self.k if k is None else k, dim=1)
        z = torch.zeros_like(pre).scatter_(1, idx, values.relu())
        return z, idx

    def encode(self, x_scaled: torch.Tensor) -> torch.Tensor:
        return self.topk(self.pre_activations(x_scaled))[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.w_dec.t() + self.b_pre

    def forward(self, x_scaled: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(reconstruction x̂, codes z, pre-activations) of scaled inputs."""
        pre = self.pre_activations(x_scaled)
        z, _ = self.topk(pre)
        return self.decode(z), z, pre

    def aux_loss(self, x_scaled: torch.Tensor, recon: torch.Tensor, pre: torch.Tensor, dead: torch.Tensor):
        """AuxK: the k_aux largest pre-activations among the `dead` latents (bool `(F,)`) reconstruct the residual
        e = x̃ − x̂ (no gradient through e); 0 when no latent is dead. k_aux = min(d_in / 2, dead latents). As in
        the paper's code (openai/sparse_autoencoder), the error is normalised by e's own spread, so the auxiliary
        loss keeps its weight as the main reconstruction gets good."""
        n_dead = int(dead.sum())
        if n_dead == 0:
            return pre.new_zeros(())
        k_aux = min(max(self.d_in // 2, 1), n_dead)
        masked = pre.masked_fill(~dead, float("-inf"))  # only dead latents can be chosen
        values, idx = masked.topk(k_aux, dim=1)
        z_aux = torch.zeros_like(pre).scatter_(1, idx, values.relu())
        e = (x_scaled - recon).detach()  # (N, d)
        spread = ((e - e.mean(0)) ** 2).sum(1).mean().clamp_min(1e-12)
        return ((z_aux @ self.w_dec.t() - e) ** 2).sum(1).mean() / spread

    @torch.no_grad()
    def normalise_decoder(self) -> None:
        """Set every decoder column back to unit norm."""
        self.w_dec /= self.w_dec.norm(dim=0, keepdim=True).clamp_min(1e-12)

    @torch.no_grad()
    def remove_parallel_grad(self) -> None:
        """Remove from each decoder column's gradient its component along the column (which only changes its norm)."""
        g = self.w_dec.grad
        if g is not None:
            g -= self.w_dec * (g * self.w_dec).sum(0, keepdim=True)

    # --- in the point's own units -------------------------------------------------------------------------------
    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The features `(N, F)` of raw vectors `x` `(N, d)` (scaled here)."""
        return self.encode(x * self.scale)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Raw vectors `x` `(N, d)` → their reconstruction in the point's own units."""
        return self.decode(self.codes(x)) / self.scale

    def directions(self) -> torch.Tensor:
        """Each feature's decoder column in the point's own units `(F, d)` (what one unit of a feature adds)."""
        return (self.w_dec / self.scale).t().detach()


def geometric_median(x: torch.Tensor, iters: int = 50, eps: float = 1e-6) -> torch.Tensor:
    """The point minimising the summed distances to the rows of `x` `(N, d)` (Weiszfeld's iteration from the mean)."""
    m = x.mean(0)
    for _ in range(iters):
        w = 1 / (x - m).norm(dim=1).clamp_min(eps)
        new = (w[:, None] * x).sum(0) / w.sum()
        if (new - m).norm() < eps * max(float(m.norm()), 1.0):
            return new
        m = new
    return m


def input_scale(x: torch.Tensor) -> float:
    """s such that E‖s·x‖² = d_in (Gao et al.'s normalisation)."""
    mean_sq = float((x.double() ** 2).sum(1).mean())
    return math.sqrt(x.shape[1] / mean_sq) if mean_sq > 0 else 1.0


@dataclass(frozen=True)
class Quality:
    """How good an SAE is on a set of vectors."""

    variance_explained: float  # 1 − ‖x − x̂‖² / ‖x − mean‖², summed over the vectors
    l0: float  # mean number of non-zero features per vector
    dead: float  # share of features that are zero on every vector
    dense: float  # share of features active on more than DENSE of the vectors
    frequency: np.ndarray  # (F,) share of vectors on which each feature is non-zero


DENSE = 0.1  # a feature active on more than this share of the vectors is "dense"


@torch.no_grad()
def quality(sae: TopKSae, x: torch.Tensor, *, batch: int = 4096) -> Quality:
    """Variance explained, mean L0, dead and dense shares of `sae` on raw vectors `x` `(N, d)`."""
    err, active, fired = 0.0, 0.0, torch.zeros(sae.width)
    mean = x.double().mean(0)
    total = float(((x.double() - mean) ** 2).sum())
    for i in range(0, len(x), batch):
        xb = x[i : i + batch]
        z = sae.codes(xb)
        err += float(((sae.decode(z) / sae.scale - xb).double() ** 2).sum())
        nz = z > 0
        active += float(nz.sum())
        fired += nz.sum(0)
    freq = (fired / max(len(x), 1)).numpy()
    return Quality(
        1 - err / total if total > 0 else 0.0,
        active / max(len(x), 1),
        float(np.mean(freq == 0)),
        float(np.mean(freq > DENSE)),
        freq,
    )


def default_epochs(n: int, batch: int = BATCH) -> int:
    """Passes over `n` vectors that make MIN_STEPS..MAX_STEPS steps (at least one pass)."""
    per_epoch = max(1, math.ceil(n / batch))
    return max(1, min(math.ceil(MIN_STEPS / per_epoch), max(1, MAX_STEPS // per_epoch)))


def train_sae(
    x: torch.Tensor,
    width: int,
    k: int,
    *,
    seed: int = 0,
    epochs: int | None = None,
    batch: int = BATCH,
    lr: float = LR,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TopKSae | None:
    """A TopK SAE trained on raw vectors `x` `(N, d)`; None when `should_stop()` turned true on the way."""
    if x.dim() != 2 or len(x) < 2:
        raise ValueError(f"An SAE trains on at least 2 vectors of shape (N, d); got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("The activations hold NaN or infinite values: the network diverged at this snapshot")
    x = x.float()
    n, d = x.shape
    SaeSpec("-", None, width, k, seed, epochs).check(d)
    scale = input_scale(x)
    xs = x * scale
    spread = float(((xs - xs.mean(0)) ** 2).sum(1).mean()) or 1.0  # the vectors' variance (summed over d)
    sae = TopKSae(d, width, k, scale=scale, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    sample = xs[torch.randperm(n, generator=gen)[:4096]]
    with torch.no_grad():
        sae.b_pre.copy_(geometric_median(sample))
    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    epochs = default_epochs(n, batch) if epochs is None else epochs
    per_epoch = math.ceil(n / batch)
    total = epochs * per_epoch
    dead_after = min(n, 50_000)  # a latent silent for this many vectors (one pass, at most 50k) is dead
    since = torch.zeros(width, dtype=torch.long)  # vectors since each latent last fired
    step, last = 0, time.monotonic()
    for _ in range(epochs):
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch):
            if should_stop is not None and should_stop():
                return None
            xb = xs[order[i : i + batch]]
            recon, z, pre = sae(xb)  # (B, d), (B, F), (B, F)
            mse = ((recon - xb) ** 2).sum(1).mean() / spread  # normalised MSE: 1 − variance explained
            dead = since >= dead_after
            loss = mse + AUX_COEF * sae.aux_loss(xb, recon, pre, dead)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            sae.remove_parallel_grad()
            opt.step()
            sae.normalise_decoder()
            fired = (z > 0).any(0)
            since += len(xb)
            since[fired] = 0
            step += 1
            if progress is not None and (time.monotonic() - last > 0.25 or step == total):
                last = time.monotonic()
                progress(
                    step / total, f"step {step:,} of {total:,} · unexplained {mse.item():.3f} · {int(dead.sum())} dead"
                )
    return sae.eval()


# --- a run's point as vectors --------------------------------------------------------------------------------------
def to_vectors(layout: str, out: torch.Tensor) -> torch.Tensor:
    """A batch of a point's outputs as the SAE's vectors: a map's channels at every position `(B·H·W, C)`, a tokens
    point's residual stream at every token `(B·N, E)`, anything else one vector per sample `(B, D)`."""
    if layout == "map":
        return out.permute(0, 2, 3, 1).reshape(-1, out.shape[1])
    if layout == "tokens":
        return out.reshape(-1, out.shape[-1])
    return out.flatten(1)


def from_vectors(layout: str, v: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """`to_vectors` undone: vectors back to the point's output of `shape`."""
    if layout == "map":
        b, c, h, w = shape
        return v.reshape(b, h, w, c).permute(0, 3, 1, 2)
    return v.reshape(shape)


def positions_per_sample(layout: str, shape: tuple[int, ...]) -> int:
    """How many vectors one sample gives at a point of one-sample `shape`."""
    if layout == "map":
        return shape[1] * shape[2]
    if layout == "tokens":
        return shape[0]
    return 1


@torch.inference_mode()
def point_vectors(model: nn.Module, x: torch.Tensor, point, *, limit: int = MAX_VECTORS, seed: int = 0) -> torch.Tensor:
    """The SAE's training vectors of `point` for prepared inputs `x`: at most `limit`, a seeded random share of the
    positions when there are more (checked against MAX_VECTOR_BYTES before anything is computed)."""
    from .units import point_batches

    per = positions_per_sample(point.layout, point.shape)
    d = point_width(point)
    total = len(x) * per
    keep = min(total, limit)
    if keep * d * 4 > MAX_VECTOR_BYTES:
        raise ValueError(
            f"{keep:,} vectors of {d:,} values would take {keep * d * 4 / 2**20:.0f} MB, more than "
            f"{MAX_VECTOR_BYTES // 2**20} MB: pick a narrower point"
        )
    gen = torch.Generator().manual_seed(seed)
    rate = keep / total
    parts = []
    for out in point_batches(model, x, point.module):
        v = to_vectors(point.layout, out.float())
        if rate < 1:
            v = v[torch.rand(len(v), generator=gen) < rate]
        parts.append(v.clone())
    return torch.cat(parts)[:limit]


# --- saved in the run folder ---------------------------------------------------------------------------------------
def save_sae(run_folder: Path, sae: TopKSae, info: dict) -> Path:
    """Write `sae` and its JSON entry under `<run>/features/<name>/`, atomically (a folder renamed in whole)."""
    name = sae_name(info["point"], info["snapshot"], sae.width, sae.k)
    root = Path(run_folder) / FEATURES_DIR
    root.mkdir(exist_ok=True)
    tmp = root / f".{name}.{uuid.uuid4().hex[:12]}.tmp"
    dst = root / name
    try:
        tmp.mkdir()
        tensors = {key: p.detach().float() for key, p in sae.state_dict().items() if key != "scale"}
        atomic_save_tensors(tmp / "sae.safetensors", tensors)
        entry = {"format": SAE_FORMAT, **info, "d_in": sae.d_in, "width": sae.width, "k": sae.k}
        entry["scale"] = float(sae.scale)
        atomic_write_bytes(tmp / "sae.json", json.dumps(entry, indent=1).encode())
        if dst.exists():  # a retrained SAE of the same name replaces the old one
            old = root / f".{name}.{uuid.uuid4().hex[:12]}.old"
            os.replace(dst, old)
            os.replace(tmp, dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dst)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dst


def load_sae(folder: Path, d_in: int | None = None) -> tuple[TopKSae, dict]:
    """An SAE saved by `save_sae` and its entry, after `check_sae_files` (`RunError` in words if it does not fit)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    prefix = f"{FEATURES_DIR}/{folder.name}"
    if not NAME_RE.fullmatch(folder.name) or not (folder / "sae.json").is_file():
        raise RunError(f"{prefix} is not a saved SAE", reason=f"{prefix} is not a saved SAE")
    entry = check_sae_files(folder, prefix, d_in)
    sae = TopKSae(entry["d_in"], entry["width"], entry["k"], scale=entry["scale"])
    tensors = load_file(folder / "sae.safetensors")
    sae.load_state_dict({**{k: v.float() for k, v in tensors.items()}, "scale": torch.tensor(float(entry["scale"]))})
    return sae.eval(), entry


# --- the job: train on a run's point and save -------------------------------------------------------------------
def train_spec(
    folder: Path,
    spec: SaeSpec,
    *,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Path | None:
    """`train_in_run` with its arguments in a `SaeSpec`."""
    from ..runs import Run
    from .units import find_point

    say = progress or (lambda fraction, words: None)
    run = Run(folder)
    if run.model_config is None:
        raise RunError(f"Run {run.id!r} holds a network of your own, which nnlab cannot rebuild to read its points")
    n = len(run.snapshots)
    if n == 0:
        raise RunError(f"Run {run.id!r} has no snapshot yet")
    if spec.snapshot is not None and not -n <= spec.snapshot < n:
        raise ValueError(f"Run {run.id!r} has snapshots 0 to {n - 1}; there is no snapshot {spec.snapshot}")
    k = range(n)[-1 if spec.snapshot is None else spec.snapshot]
    point = run.point(spec.point)
    p = find_point(run, spec.point)
    if p.layout not in ("vector", "map", "tokens", "code") or p.module is None or p.role in ("logits", "probs"):
        raise ValueError(f"{spec.point} is not a hidden layer an SAE can read (it is the {p.role} output)")
    d = point_width(point)
    spec.check(d)
    sae_name(spec.point, k, spec.width, spec.k)
    say(0.0, "reading the activations…")
    dataset = run.dataset()
    model = run.model_at(k)
    x = point_vectors(model, dataset.prepare(dataset.x_train), point, seed=spec.seed)
    if should_stop is not None and should_stop():
        return None
    start = time.monotonic()
    sae = train_sae(
        x,
        spec.width,
        spec.k,
        seed=spec.seed,
        epochs=spec.epochs,
        progress=lambda f, words: say(0.05 + 0.9 * f, words),
        should_stop=should_stop,
    )
    if sae is None:
        return None
    seconds = time.monotonic() - start
    say(0.96, "measuring its quality…")
    q = quality(sae, x)
    info = {
        **{key: v for key, v in asdict(spec).items() if key not in ("width", "k")},
        "snapshot": k,
        "step": run.snapshots[k].get("step"),
        "layout": point.layout,
        "vectors": len(x),
        "seconds": round(seconds, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "train": {"variance_explained": q.variance_explained, "l0": q.l0, "dead": q.dead, "dense": q.dense},
    }
    saved = save_sae(run.folder, sae, info)
    say(1.0, f"{q.variance_explained:.0%} of the variance explained, {q.l0:.1f} features active per vector")
    return saved


def train_in_run(
    folder: Path,
    point: str,
    snapshot: int | None,
    width: int,
    k: int,
    *,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    seed: int = 0,
    epochs: int | None = None,
) -> Path | None:
    """Train an SAE on `point` of the run in `folder` at `snapshot` (None: the last) and save it in the run folder.

    Args:
        folder: the run folder.
        point: a hidden point of its network ("relu1", "conv2", "block1", "code", ...).
        snapshot: index into the run's snapshots (negative counts from the end); None: the last.
        width, k: features, and features active per vector.
        progress: called with (fraction 0..1, words) as it goes.
        should_stop: polled every step; once true, training ends and nothing is saved.
        seed, epochs: the SAE's seed and passes over the training vectors (None: a default length).
    Returns:
        The saved SAE's folder (`<run>/features/<point>-s<k>-w<width>-k<k>`), or None when stopped.
    """
    spec = SaeSpec(point, snapshot, width, k, seed, epochs)
    return train_spec(Path(folder), spec, progress=progress, should_stop=should_stop)
