"""Sparse autoencoders (issue 27): training time, quality, purity against the neurons, and one feature's dashboard.

1. A digits MLP (64 → 64 hidden, ReLU, 30 epochs, seed 0) trained here; an SAE of 256 features, k = 8, on its
   `relu1` through `train_in_run` (the job's own call): seconds, variance explained, dead share, the median purity
   of live features against the neurons', spliced-in accuracy.
2. A Fashion-MNIST-shaped layer: 60,000 vectors of 128 values, 1,024 features, k = 16. Fashion-MNIST is not on
   this machine, so the vectors are synthetic, of that shape: ReLU of sums of 6 of 1,024 random directions with
   random weights (a sparse dictionary, as a trained layer's activations are modelled): seconds only (and quality).
3. One feature's dashboard, warm (the feature table cached as the page caches it): its numbers (`feature_info`), its
   effect on the classes (`logit_effects` of that feature) and its figures, median over the first 20 live features.

    python bench/sae.py               # about a minute on 2 idle cores
    python bench/sae.py --threads 1   # on a busy machine: one thread wastes no time waiting for the other

Each time is printed as wall-clock seconds (the target's measure) and as this process's CPU seconds, which stay
steady when other processes share the cores (wall-clock time then grows with the load average).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig, train_run  # noqa: E402
from nnlab.analysis import features, sae, units  # noqa: E402
from nnlab.runs import Run  # noqa: E402

TARGETS = {"digits_s": 20.0, "fashion_s": 90.0, "dashboard_ms": 150.0, "purity_ratio": 3.0, "ve": 0.85, "dead": 0.10}


def line(name: str, value: float, target: float, unit: str = "", *, at_most: bool = True) -> None:
    ok = value <= target if at_most else value >= target
    sign = "≤" if at_most else "≥"
    print(f"  {name:<44} {value:10.3f}{unit:<3} target {sign} {target:g}{unit}  {'ok' if ok else 'MISSED'}")


def digits(root: Path) -> None:
    run = train_run(
        DataConfig.make("digits"),
        MLPConfig((1, 8, 8), 10, (64,)),
        TrainConfig(batch_size=32, epochs=30, seed=0),
        RecordConfig(snapshots=5),
        root=root,
        name="digits64",
    )
    start, cpu = time.perf_counter(), time.process_time()
    folder = sae.train_in_run(run.folder, "relu1", None, 256, 8)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    run = Run(run.folder)
    model, ds = run.model_at(-1), run.dataset()
    x, idx, labels = units.eval_inputs(run, ds)
    m, entry = sae.load_sae(folder)
    point = run.point("relu1")
    table = features.feature_table(model, m, x, point, idx, labels)
    comp = features.neurons_vs_features(table, m, 10)
    live = ~np.isnan(comp.feature_purity)
    print(f"digits MLP 64-64-10 (test accuracy {run.final_accuracy:.3f}), relu1 → 256 features, k = 8:")
    line("training seconds (1,438 vectors)", seconds, TARGETS["digits_s"], " s")
    print(f"  (process CPU seconds {cpu:.1f}; load average now {os.getloadavg()[0]:.1f})")
    train = entry["train"]
    line("variance explained (training vectors)", train["variance_explained"], TARGETS["ve"], at_most=False)
    line("dead features (training vectors)", train["dead"], TARGETS["dead"])
    print(
        f"  on the evaluation subset: variance explained {table.quality.variance_explained:.3f}, "
        f"L0 {table.quality.l0:.2f}, dead {table.quality.dead:.3f}, dense {table.quality.dense:.3f}"
    )
    print(f"  accuracy {table.intact:.3f} intact, {table.spliced:.3f} with relu1 replaced by its reconstruction")
    ratio = comp.feature_median / comp.neuron_median
    print(
        f"  median purity: features {comp.feature_median:.2f} ({live.sum()} live), neurons {comp.neuron_median:.2f}; "
        f"over 80 %: {(comp.feature_purity > 0.8).sum()} features, {(comp.neuron_purity > 0.8).sum()} neurons"
    )
    line("median purity, features / neurons", ratio, TARGETS["purity_ratio"], "×", at_most=False)

    from nnlab.figures import features as feature_figures

    times, cpus = [], []
    for f in np.flatnonzero(live)[:20]:
        t, c = time.perf_counter(), time.process_time()
        effect = features.logit_effects(model, m, x, table, point, [int(f)])
        info = features.feature_info(table, int(f), run.class_names, effect=effect[0])
        feature_figures.histogram(info)
        feature_figures.effect_bars(info, run.class_names)
        feature_figures.strongest(info, ds.display_images(ds.x_test[info.top]), run.class_names)
        times.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    line("one feature's dashboard, warm (median of 20)", 1000 * float(np.median(times)), TARGETS["dashboard_ms"], " ms")
    print(f"  (process CPU {1000 * float(np.median(cpus)):.0f} ms; load average now {os.getloadavg()[0]:.1f})")


def fashion_shaped() -> None:
    gen = torch.Generator().manual_seed(0)
    atoms = torch.randn(1024, 128, generator=gen)
    atoms /= atoms.norm(dim=1, keepdim=True)
    idx = torch.stack([torch.randperm(1024, generator=gen)[:6] for _ in range(60_000)])  # (60000, 6)
    weights = torch.rand(60_000, 6, generator=gen) + 0.2
    x = (weights[:, :, None] * atoms[idx]).sum(1).relu()  # (60000, 128)
    start, cpu = time.perf_counter(), time.process_time()
    m = sae.train_sae(x, 1024, 16)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    q = sae.quality(m, x)
    print("Fashion-MNIST-shaped layer (synthetic: 60,000 vectors of 128), 1,024 features, k = 16:")
    line("training seconds", seconds, TARGETS["fashion_s"], " s")
    print(f"  (process CPU seconds {cpu:.1f}; load average now {os.getloadavg()[0]:.1f})")
    print(f"  variance explained {q.variance_explained:.3f}, L0 {q.l0:.2f}, dead {q.dead:.3f}, dense {q.dense:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-fashion", action="store_true")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s), load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        digits(Path(tmp))
    if not a.skip_fashion:
        fashion_shaped()


if __name__ == "__main__":
    main()
