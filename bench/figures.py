"""Benchmark of the "Learning over time" pages: boundary speed and bytes sent to the browser.

Prints (1) the time of one 100×100 decision boundary (warm, median of repeats) against
the 20 ms budget, and (2) for each page, the sum of the plotly JSON of every figure it
sends (`len(fig.to_json())`, as Streamlit serialises it) against the 3 MB budget, with
the page's warm server time. Runs: an MLP on two moons, and an MLP on MNIST-shaped
synthetic data (28×28, 10 classes), both with 50 snapshots.

    python bench/figures.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nnlab import DataConfig, Dataset, MLPConfig, RecordConfig, TrainConfig, register_dataset, train_run  # noqa: E402
from nnlab.analysis.boundary import boundary_2d, plane_grid  # noqa: E402

MB = 1_000_000
BOUNDARY_BUDGET_MS = 20.0
PAGE_BUDGET = 3 * MB


@register_dataset("bench-mnist-shaped", kind="image", description="MNIST-shaped synthetic strokes (bench only).")
def mnist_shaped(n_train: int = 6000, n_test: int = 1000, seed: int = 0) -> Dataset:
    """10 classes of 28×28 uint8 images: a class's random strokes, shifted and noisy per sample."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    protos = []
    for _ in range(10):
        img = np.zeros((28, 28))
        for _ in range(3):  # three soft strokes per class
            (x0, y0), (x1, y1) = rng.uniform(6, 22, size=(2, 2))
            for t in np.linspace(0, 1, 24):
                cx, cy = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                img = np.maximum(img, np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / 3.0))
        protos.append(img)
    protos = np.stack(protos)

    def sample(n):
        y = rng.integers(0, 10, n)
        shifts = rng.integers(-2, 3, size=(n, 2))
        x = np.stack([np.roll(protos[c], tuple(s), axis=(0, 1)) for c, s in zip(y, shifts, strict=True)])
        x = np.clip(x * rng.uniform(0.7, 1.0, (n, 1, 1)) + rng.normal(0, 0.08, x.shape), 0, 1)
        return (x * 255).round().astype(np.uint8)[:, None], y.astype(np.int64)

    x_tr, y_tr = sample(n_train)
    x_te, y_te = sample(n_test)
    return Dataset("bench-mnist-shaped", x_tr, y_tr, x_te, y_te, tuple(str(i) for i in range(10)))


def time_boundary(run, repeats: int = 50) -> tuple[float, float]:
    """Median ms of one 100×100 boundary (network ready) and with the network rebuilt from the snapshot."""
    ds = run.dataset()
    grid = plane_grid(np.concatenate([ds.x_train, ds.x_test]), 100)
    model = run.model_at(len(run) - 1)
    for _ in range(5):
        boundary_2d(model, ds.prepare, grid)
    plain, rebuilt = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        boundary_2d(model, ds.prepare, grid)
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        boundary_2d(run.model_at(len(run) - 1), ds.prepare, grid)
        rebuilt.append(time.perf_counter() - t)
    return 1000 * float(np.median(plain)), 1000 * float(np.median(rebuilt))


def page_bytes(page: str, run, widgets: dict) -> tuple[int, int, float, float]:
    """(figures, characters of figure JSON, cold seconds, warm seconds) of one page as AppTest renders it."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / f"{page}.py"), default_timeout=600)
    at.session_state["app_run"] = run.id
    for key, value in widgets.items():
        at.session_state[key] = value
    t = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    at.run()
    warm = time.perf_counter() - t
    if at.exception:
        raise RuntimeError(f"{page}: {at.exception[0].value}")
    charts = at.get("plotly_chart")
    return len(charts), sum(len(c.proto.spec) for c in charts), cold, warm


def main() -> None:
    with tempfile.TemporaryDirectory() as root:
        os.environ["NNLAB_RUNS_DIR"] = root
        print("Training the bench runs (50 snapshots each)…", flush=True)
        moons = train_run(DataConfig.make("moons"), record=RecordConfig(snapshots=50), root=root, name="moons")
        mnist = train_run(
            DataConfig.make("bench-mnist-shaped"),
            MLPConfig((1, 28, 28), 10, (128, 64)),
            TrainConfig(batch_size=128, epochs=2),
            RecordConfig(snapshots=50),
            root=root,
            name="mnist",
        )
        print(f"  moons: MLP 2-128-64-2, {len(moons)} snapshots, accuracy {moons.final_accuracy:.3f}")
        print(f"  mnist-shaped: MLP 784-128-64-10, {len(mnist)} snapshots, accuracy {mnist.final_accuracy:.3f}")

        threads = torch.get_num_threads()
        plain, rebuilt = time_boundary(moons)
        torch.set_num_threads(1)  # this process only: how much of the time is threads waiting on a busy machine
        single, _ = time_boundary(moons)
        torch.set_num_threads(threads)
        print(
            f"\nDecision boundary, 100×100 grid, moons MLP (warm, median of 50; load average {os.getloadavg()[0]:.1f}"
            f" on {os.cpu_count()} cores):"
        )
        print(
            f"  boundary_2d ({threads} torch threads)        {plain:7.2f} ms   budget {BOUNDARY_BUDGET_MS:.0f} ms   "
            f"ratio {plain / BOUNDARY_BUDGET_MS:.2f}"
        )
        print(
            f"  + rebuild the net from snapshot     {rebuilt:7.2f} ms   budget {BOUNDARY_BUDGET_MS:.0f} ms   "
            f"ratio {rebuilt / BOUNDARY_BUDGET_MS:.2f}"
        )
        print(
            f"  boundary_2d (1 torch thread)         {single:7.2f} ms   budget {BOUNDARY_BUDGET_MS:.0f} ms   "
            f"ratio {single / BOUNDARY_BUDGET_MS:.2f}"
        )

        print("\nFigures sent per page (sum of len(fig.to_json()) over every chart), budget 3 MB:")
        print(f"  {'run':13} {'page (state)':34} {'charts':>6} {'MB':>7} {'ratio':>6} {'cold s':>7} {'warm s':>7}")
        cases = [
            (moons, "weights", "first layer", {}),
            (moons, "weights", "dense2", {"weights_layer": "dense2"}),
            (moons, "boundary", "2-D plane + unit maps", {}),
            (mnist, "weights", "dense1, all 128 units", {}),
            (mnist, "weights", "dense1, 32 most changed", {"weights_units": "changed"}),
            (mnist, "weights", "dense2", {"weights_layer": "dense2"}),
            (mnist, "boundary", "input plane", {}),
            (mnist, "boundary", "relu1 plane", {"boundary_plane": "relu1"}),
        ]
        for run, page, state, widgets in cases:
            n, size, cold, warm = page_bytes(page, run, widgets)
            label = "moons" if run is moons else "mnist-shaped"
            print(
                f"  {label:13} {page + ' (' + state + ')':34} {n:6d} {size / MB:7.2f} {size / PAGE_BUDGET:6.2f} "
                f"{cold:7.2f} {warm:7.2f}"
            )


if __name__ == "__main__":
    main()
