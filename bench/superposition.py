"""Benchmark: the toy model of superposition's phase change, measured through nnlab's own training loop.

Not run by pytest: `python bench/superposition.py` (a few minutes on 2 busy cores; `--quick` for a smoke run).
As Elhage et al. 2022 ("Toy Models of Superposition", Figure 3): n = 20 features with importance 0.9ⁱ squeezed
into m = 5 dimensions, trained at several sparsities S through `nnlab.train_run` (recorder included). Printed
per sparsity: features represented (‖Wᵢ‖ ≥ 0.5; dense data should keep m = 5), how many of them share their
direction (superposition), the ratio represented / m, the final loss and the seconds it took. Targets (the paper's
result): S = 0 keeps m features with none superposed; the sparsest setting keeps at least 2 m.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nnlab import DataConfig, RecordConfig, TrainConfig, train_run  # noqa: E402
from nnlab.analysis import superposition  # noqa: E402
from nnlab.models import ToyConfig  # noqa: E402

SPARSITIES = (0.0, 0.7, 0.9, 0.97, 0.99)


def one(root: Path, sparsity: float, n: int, m: int, samples: int, epochs: int) -> tuple:
    data = DataConfig.make("sparse-features", n_features=n, sparsity=sparsity, n_samples=samples, seed=0)
    start = time.perf_counter()
    run = train_run(
        data,
        ToyConfig(input_shape=(n,), n_classes=n + 1, dims=m, importance=0.9),
        TrainConfig(lr=0.01, epochs=epochs, batch_size=256, seed=0),
        RecordConfig(snapshots=10, eval_size=500),
        root=root,
    )
    seconds = time.perf_counter() - start
    info = superposition.superposition_info(run, len(run) - 1)
    return info, run.epochs[-1]["train_loss"], seconds, run.snapshots[-1]["step"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and epochs (a smoke run)")
    a = parser.parse_args()
    torch.set_num_threads(1)
    n, m = 20, 5
    samples, epochs = (4000, 5) if a.quick else (40_000, 20)
    print(f"toy model: n = {n} features (importance 0.9^i) → m = {m} dims; {samples:,} samples, {epochs} epochs")
    print(f"{'sparsity':>8} {'kept':>5} {'shared':>6} {'kept/m':>6} {'loss':>9} {'steps':>6} {'s':>6}  ‖Wᵢ‖")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for s in SPARSITIES:
            info, loss, seconds, steps = one(Path(tmp), s, n, m, samples, epochs)
            results[s] = info
            norms = " ".join(f"{v:.1f}" for v in info.norms)
            print(
                f"{s:>8.2f} {info.n_represented:>5} {info.n_superposed:>6} {info.n_represented / m:>6.2f} "
                f"{loss:>9.5f} {steps:>6} {seconds:>6.1f}  {norms}"
            )
    dense, sparsest = results[SPARSITIES[0]], results[SPARSITIES[-1]]
    print(f"dense: kept {dense.n_represented} (target {m}), superposed {dense.n_superposed} (target 0)")
    print(f"S = {SPARSITIES[-1]}: kept {sparsest.n_represented} = {sparsest.n_represented / m:.1f}× m (target ≥ 2×)")
    ok = dense.n_represented == m and dense.n_superposed == 0 and sparsest.n_represented >= 2 * m
    print("targets met" if ok else "targets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    np.set_printoptions(precision=2)
    sys.exit(main())
