"""Timings of the Backpropagation page (issue 28) against its bars, as ratios to a baseline in this same process.

1. The backward walk-through of one sample (`nnlab.analysis.backprop.run_backprop`: a network of its own from the
   snapshot, every point's and parameter's gradient, the gates, the optimizer's step from the recorded state, the loss
   after it) for the default MLP, CNN and ViT on 28×28 images. Bar: ≤ 150 ms warm. Baseline: one plain forward and
   backward pass of the same sample through the same network (`loss.backward()`).
2. One hand edit of the network you can hold (2-8-8-2 MLP on two moons): the record with its unit maps and boundary
   (`run_hand_network`, 50×50 grid), both figures and their JSON, as the page redraws them. Bar: ≤ 100 ms. Baseline:
   the 50×50 grid through the network once.

The runs are trained here for one short epoch on random images (no download): the timings do not depend on what
the weights learned. Each timing is the median of `--repeats` after one warm-up call.

    python bench/backprop.py                 # about 30 s on 2 idle cores
    python bench/backprop.py --repeats 20 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from nnlab import CNNConfig, DataConfig, Dataset, MLPConfig, RecordConfig, TrainConfig, ViTConfig, train_run  # noqa: E402
from nnlab.analysis import backprop, boundary, hand_network  # noqa: E402
from nnlab.figures import hand_network as hand_figures  # noqa: E402

KINDS = {  # the kinds' defaults for 28×28 grey images and 10 classes
    "MLP 784-128-64-10": MLPConfig(input_shape=(1, 28, 28), n_classes=10),
    "CNN 16-32 + 64": CNNConfig(input_shape=(1, 28, 28), n_classes=10),
    "ViT 4×64, 4 heads, 7×7 patches": ViTConfig(input_shape=(1, 28, 28), n_classes=10),
}
WALK_BAR_MS, EDIT_BAR_MS = 150.0, 100.0


def median_ms(fn, repeats: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def random_images(n: int = 512) -> Dataset:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.int64)
    return Dataset("random-28", x[: n - 64], y[: n - 64], x[n - 64 :], y[n - 64 :], tuple(map(str, range(10))))


def plain_backward(model: torch.nn.Module, x: torch.Tensor, y: int) -> None:
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), torch.tensor([y])).backward()


def walk_rows(root: Path, repeats: int) -> None:
    ds = random_images()
    train = TrainConfig(batch_size=64, epochs=1, seed=0)
    print(f"{'backward walk-through of one sample':<40} {'ms':>8} {'plain fwd+bwd ms':>17} {'ratio':>7} {'bar':>10}")
    for label, cfg in KINDS.items():
        run = train_run(
            DataConfig.make("mnist"),
            cfg,
            train,
            RecordConfig(snapshots=2, eval_size=64),
            root=root,
            name=label.split()[0].lower(),
            dataset=ds,
        )
        x, y = ds.prepare(ds.x_test[:1]), int(ds.y_test[0])
        k = len(run) - 1
        walk = median_ms(lambda run=run, x=x, y=y, k=k: backprop.run_backprop(run, k, x, y), repeats)
        model = run.model_at(k)
        base = median_ms(lambda model=model, x=x, y=y: plain_backward(model, x, y), repeats)
        verdict = "ok" if walk <= WALK_BAR_MS else "OVER"
        print(f"{label:<40} {walk:8.1f} {base:17.2f} {walk / base:7.1f} {f'≤{WALK_BAR_MS:.0f} {verdict}':>10}")


def edit_row(root: Path, repeats: int) -> None:
    run = train_run(
        DataConfig.make("moons"),
        MLPConfig(hidden=(8, 8)),
        TrainConfig(batch_size=32, epochs=2, seed=0),
        RecordConfig(snapshots=3),
        root=root,
        name="moons",
    )
    ds, k = run.dataset(), len(run) - 1
    model = run.model_at(k)
    grid = boundary.plane_grid(np.concatenate([ds.x_train, ds.x_test]), 50)
    sample = ds.prepare(ds.x_test[:1])
    values = iter(np.linspace(-3, 3, 10_000))

    def one_edit() -> None:  # what the page redraws when the slider moves
        edits = {("dense1.weight", (0, 1)): float(next(values))}
        net = hand_network.run_hand_network(run, k, ds, sample, int(ds.y_test[0]), edits, grid=grid, model=model)
        hand_figures.network_figure(net, selected=("dense1.weight", (0, 1)), class_names=run.class_names).to_json()
        hand_figures.hand_boundary_figure(net, ds.x_test, ds.y_test, run.class_names, point=ds.x_test[0]).to_json()

    edit = median_ms(one_edit, repeats)
    x = ds.prepare(grid.xy)
    base = median_ms(lambda: boundary.run_modules([model], x), repeats)
    verdict = "ok" if edit <= EDIT_BAR_MS else "OVER"
    print(f"\n{'hand edit, 2-8-8-2 on two moons':<40} {'ms':>8} {'grid forward ms':>17} {'ratio':>7} {'bar':>10}")
    print(
        f"{'record + both figures + JSON':<40} {edit:8.1f} {base:17.2f} {edit / base:7.1f} "
        f"{f'≤{EDIT_BAR_MS:.0f} {verdict}':>10}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the app's server runs on one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as root:
        walk_rows(Path(root), args.repeats)
        edit_row(Path(root), args.repeats)


if __name__ == "__main__":
    main()
