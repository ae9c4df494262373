"""Seconds per epoch of the three model kinds on the same data: the default MLP, the default CNN and the default ViT.

Issue 15's closing note: the time per epoch of the ViT next to the MLP and the CNN. All three train in this one
process, one after the other, through nnlab's trainer with default recording (at a 20-epoch run's snapshot density,
as `bench/train_overhead.py` does), on the real MNIST test set split 8,000 / 2,000 (as tests/test_vit.py splits it),
with the same training settings: Adam at 3e-3, batches of 64. Prints wall-clock and process CPU seconds per epoch
(the best epoch over interleaved repeats: other processes only ever add time), the ratio to the MLP, and the test
accuracy after the last epoch.

    python bench/kinds.py                  # 2 epochs each, 2 repeats, about 1 minute on 2 idle cores
    python bench/kinds.py --epochs 1 --repeats 3 --threads 1 --data ../shared/data/mnist-test
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

from nnlab import (  # noqa: E402
    CNNConfig,
    DataConfig,
    Dataset,
    MLPConfig,
    RecordConfig,
    TrainConfig,
    ViTConfig,
    make_trainer,
)
from nnlab.data.images import read_idx_split  # noqa: E402

KINDS = {  # the kinds' defaults for 28×28 grey images and 10 classes
    "MLP 784-128-64-10": MLPConfig(input_shape=(1, 28, 28), n_classes=10),
    "CNN 16-32 + 64": CNNConfig(input_shape=(1, 28, 28), n_classes=10),
    "ViT 4×64, 4 heads, 7×7 patches": ViTConfig(input_shape=(1, 28, 28), n_classes=10),
}


def mnist_split(folder: Path) -> Dataset:
    """The real MNIST test set, shuffled with seed 0 and split 8,000 train / 2,000 test."""
    x, y = read_idx_split(folder, "t10k")
    order = np.random.default_rng(0).permutation(len(y))
    x, y = x[order], y[order]
    return Dataset("mnist-split", x[:8000], y[:8000], x[8000:], y[8000:], tuple(map(str, range(10))), "MNIST split")


class EpochClock:
    """A callback that notes wall-clock and process CPU seconds at the start and at the end of every epoch."""

    def __init__(self):
        self.marks: list[tuple[float, float]] = []

    def on_train_start(self, trainer) -> None:
        self.marks = [(time.perf_counter(), time.process_time())]

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.marks.append((time.perf_counter(), time.process_time()))

    def per_epoch(self) -> tuple[np.ndarray, np.ndarray]:
        """(wall, cpu) seconds of each epoch (the recorder writes its initial snapshot before the clock starts)."""
        m = np.asarray(self.marks)
        return np.diff(m[:, 0]), np.diff(m[:, 1])


def train(ds: Dataset, model, epochs: int, root: Path) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Seconds per epoch (wall, CPU), the final test accuracy and the wall seconds of the whole run (set-up, initial
    and final snapshots included) of one kind."""
    start = time.perf_counter()
    clock = EpochClock()
    trainer, _ = make_trainer(
        DataConfig(ds.name),
        model,
        TrainConfig(batch_size=64, epochs=epochs, lr=3e-3, seed=0),
        RecordConfig(snapshots=max(1, round(50 * epochs / 20))),
        root=root,
        dataset=ds,
        callbacks=(clock,),
    )
    trainer.fit()
    wall, cpu = clock.per_epoch()
    return wall, cpu, float(trainer.history[-1]["test_acc"]), time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=2, help="epochs of each kind (1 or 2)")
    ap.add_argument("--repeats", type=int, default=2, help="interleaved repeats of every kind (best epoch kept)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    ap.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data" / "mnist-test", help="MNIST folder")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = mnist_split(args.data)
    print(
        f"nnlab bench: seconds per epoch by kind · torch {torch.__version__}, {torch.get_num_threads()} threads · "
        f"{os.cpu_count()} CPUs · load average {os.getloadavg()[0]:.1f}\n"
        f"real MNIST test set split 8,000 / 2,000; Adam 3e-3, batches of 64, {args.epochs} epoch(s) each, "
        f"best epoch of {args.repeats} interleaved repeat(s), nnlab's trainer with default recording\n"
    )
    best: dict[str, list] = {label: [np.inf, np.inf, 0.0] for label in KINDS}  # wall, CPU, accuracy
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        for r in range(args.repeats):
            for label, model in KINDS.items():
                wall, cpu, acc, total = train(ds, model, args.epochs, Path(tmp))
                best[label] = [min(best[label][0], wall.min()), min(best[label][1], cpu.min()), acc]
                epochs = ", ".join(f"{w:.1f}" for w in wall)
                print(f"  {r + 1}. {label}: epochs of {epochs} s; {total:.1f} s with set-up and snapshots", flush=True)
    rows = [(label, *values) for label, values in best.items()]
    base_wall, base_cpu = rows[0][1], rows[0][2]
    print(f"\n{'kind':34} {'wall s/epoch':>12} {'× MLP':>6} {'CPU s/epoch':>12} {'× MLP':>6} {'test acc':>9}")
    for label, wall, cpu, acc in rows:
        print(f"{label:34} {wall:12.2f} {wall / base_wall:6.1f} {cpu:12.2f} {cpu / base_cpu:6.1f} {acc:9.3f}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
