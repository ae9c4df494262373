"""Server time and figure bytes of the "Inside the network" pages: walk-through, class averages, attribution, hidden,
attention.

Trains three short runs on synthetic data registered as temporary datasets (so `Run.dataset()` can
reload them): an MLP (784-128-64-10) on Fashion-MNIST-shaped images (28×28 uint8, 10 classes), the
default CNN on CIFAR-shaped images (32×32×3) and the default ViT on the Fashion-shaped images. Then
drives the real app (`streamlit_app.py`) through AppTest and times `at.run()` once warm, for a new
sample at a new snapshot each time, and sums the plotly specs the page sends. Targets (SPEC §6):
walk-through ≤ 150 ms, class averages ≤ 300 ms, any other page (attribution) ≤ 1 s, ≤ 3 MB of
figures per page; for the ViT (issue 15), the walk-through and one sample's attention ≤ 150 ms.
Issue 17: the model randomisation cascade of the four default attribution methods on a digits CNN ≤ 5 s;
on the Units page, one unit's top examples ≤ 150 ms, one ablation ≤ 300 ms on the evaluation subset, and the
ranking of a 128-unit layer ≤ 10 s (in the background).

    python bench/pages.py            # about two minutes on 2 cores
    python bench/pages.py --repeats 5
    python bench/pages.py --kinds vit   # the ViT row only
    python bench/pages.py --kinds mlp cnn digits   # issue 17's rows: units on the MLP and CNN, the cascade on digits
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

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
from nnlab.data import register_dataset  # noqa: E402
from nnlab.models import AEConfig  # noqa: E402

WALK, CLASSES, ATTRIBUTION = "app_pages/walkthrough.py", "app_pages/class_averages.py", "app_pages/attribution.py"
UNITS = "app_pages/units.py"
HIDDEN, ATTENTION, LATENT = "app_pages/hidden.py", "app_pages/attention.py", "app_pages/latent.py"


def synthetic(name: str, shape: tuple[int, ...], n_train: int, n_test: int, seed: int = 0) -> Dataset:
    """Images of 10 classes: a smooth random template per class plus noise, as uint8 (N, C, H, W)."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    coarse = rng.uniform(0, 255, (10, c, h // 4, w // 4))
    templates = coarse.repeat(4, axis=2).repeat(4, axis=3)  # (10, C, H, W) blocky templates

    def draw(n):
        y = rng.integers(0, 10, n)
        x = 0.7 * templates[y] + rng.normal(40, 50, (n, c, h, w))
        return np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64)

    x_tr, y_tr = draw(n_train)
    x_te, y_te = draw(n_test)
    return Dataset(name, x_tr, y_tr, x_te, y_te, tuple(f"class {i}" for i in range(10)), "synthetic (bench)")


@register_dataset("bench-fashion", kind="image", description="synthetic 28×28 images (bench only)")
def bench_fashion() -> Dataset:
    return synthetic("bench-fashion", (1, 28, 28), 6000, 2000)


@register_dataset("bench-cifar", kind="image", description="synthetic 32×32×3 images (bench only)")
def bench_cifar() -> Dataset:
    return synthetic("bench-cifar", (3, 32, 32), 3000, 2000, seed=1)


def train(root: Path, data: str, model, batch: int) -> str:
    """A short run with the default recording (50 snapshots, 1,000 evaluation samples); its id."""
    t = time.perf_counter()
    trainer, folder = make_trainer(
        DataConfig.make(data),
        model,
        TrainConfig(batch_size=batch, epochs=2, seed=0),
        RecordConfig(),
        root=root,
        name=data,
    )
    trainer.fit()
    print(f"  trained {folder.name}: {trainer.step} steps, status {trainer.status}, {time.perf_counter() - t:.1f} s")
    return folder.name


def app(run_id: str, page: str):
    """The whole app in AppTest, on `page`, set up as the live server runs it.

    Like the server, it keeps st.navigation's pages across runs and compiles each script once
    (AppTest alone recompiles the scripts on every run: ~40 ms that no user ever waits for).
    """
    import streamlit.testing.v1.app_test as app_test_module
    import streamlit.testing.v1.local_script_runner as runner_module
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest

    class NavigationPages(PagesManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            PagesManager.uses_pages_directory = False

    shared = ScriptCache()
    app_test_module.PagesManager = NavigationPages
    app_test_module.ScriptCache = runner_module.ScriptCache = lambda: shared
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.session_state["app_run"] = run_id
    at.switch_page(page)
    return at


def run_timed(at) -> tuple[float, float]:
    """Wall time and process CPU time of one run, in ms (CPU time is less sensitive to other load)."""
    t, c = time.perf_counter(), time.process_time()
    at.run()
    dt, dc = 1e3 * (time.perf_counter() - t), 1e3 * (time.process_time() - c)
    problems = [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
    if problems:
        raise RuntimeError(f"the page failed: {problems[0][:300]}")
    return dt, dc


def figure_bytes(at) -> int:
    return sum(len(c.proto.spec) for c in at.get("plotly_chart"))


def summary(runs: list[tuple[float, float]]) -> str:
    wall, cpu = [w for w, _ in runs], [c for _, c in runs]
    return (
        f"median {statistics.median(wall):6.1f} ms · p90 {np.percentile(wall, 90):6.1f} ms · "
        f"max {max(wall):6.1f} ms · CPU median {statistics.median(cpu):5.1f} ms  (n={len(runs)})"
    )


def bench_walkthrough(run_id: str, n_test: int, n_snap: int, repeats: int, rng) -> None:
    at = app(run_id, WALK)
    cold, _ = run_timed(at)
    at.number_input(key="walk_index").set_value(1)
    run_timed(at)
    new_both, new_sample = [], []
    for _ in range(repeats):
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        new_both.append(run_timed(at))
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        new_sample.append(run_timed(at))
    size = figure_bytes(at)
    print(f"  walk-through  first view (cold caches)    {cold:7.1f} ms")
    print(f"  walk-through  new sample + new snapshot   {summary(new_both)}")
    print(f"  walk-through  new sample, same snapshot   {summary(new_sample)}")
    print(f"  walk-through  figures sent                {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts")


def bench_classes(run_id: str, n_snap: int, repeats: int, rng) -> None:
    at = app(run_id, CLASSES)
    cold, _ = run_timed(at)
    times = []
    for _ in range(repeats):
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        times.append(run_timed(at))
    cell = []
    for _ in range(max(2, repeats // 2)):  # choosing a confusion cell lists its samples as thumbnails
        at.selectbox(key="classes_true").set_value(f"class {rng.integers(10)}")
        at.selectbox(key="classes_pred").set_value(f"class {rng.integers(10)}")
        cell.append(run_timed(at))
    at.selectbox(key="classes_pred").set_value(at.selectbox(key="classes_true").value)  # a full cell: thumbnails
    run_timed(at)
    size = figure_bytes(at)
    print(f"  class averages first view (cold caches, reads all snapshots) {cold:7.1f} ms")
    print(f"  class averages new snapshot               {summary(times)}")
    print(f"  class averages new confusion cell         {summary(cell)}")
    print(
        f"  class averages figures sent               {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts"
        f" (+ {sum(len(i.value) for i in at.image)} thumbnails as PNG files)"
    )


def bench_attribution(run_id: str, n_test: int, n_snap: int, repeats: int, rng) -> None:
    """All four methods for one sample (new sample: uncached), and the class averages (new snapshot: uncached)."""
    at = app(run_id, ATTRIBUTION)
    cold, _ = run_timed(at)
    new_sample, new_both = [], []
    for _ in range(repeats):
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        new_sample.append(run_timed(at))
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        new_both.append(run_timed(at))
    size = figure_bytes(at)
    print(f"  attribution   first view (cold caches, imports captum) {cold:7.1f} ms")
    print(f"  attribution   new sample, same snapshot   {summary(new_sample)}")
    print(f"  attribution   new sample + new snapshot   {summary(new_both)}  (class averages recomputed)")
    print(f"  attribution   figures sent                {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts")


def bench_hidden(run_id: str, n_snap: int, repeats: int, rng) -> None:
    """The PCA map of the last hidden layer at a new snapshot (1,000 test samples), and the movie's background time."""
    import appkit

    at = app(run_id, HIDDEN)
    t0 = time.perf_counter()
    cold, _ = run_timed(at)
    movie = [t for k, t in appkit.background_tasks()._tasks.items() if "hidden-movie" in k and run_id in str(k)]
    assert movie and movie[0].wait(600), "the movie did not finish"
    movie_s = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        times.append(run_timed(at))
    size = figure_bytes(at)
    print(f"  hidden layers first view (cold caches)    {cold:7.1f} ms")
    print(f"  hidden layers new snapshot (PCA map)      {summary(times)}")
    print(f"  hidden layers PCA movie over {n_snap} snapshots, in the background: {movie_s:.1f} s")
    print(f"  hidden layers figures sent                {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts")


def bench_attention(run_id: str, n_test: int, n_snap: int, repeats: int, rng) -> None:
    """One sample's attention (heads, matrix, rollout) at a new snapshot; the per-class maps and heads come along."""
    at = app(run_id, ATTENTION)
    cold, _ = run_timed(at)
    new_sample, new_both = [], []
    for _ in range(repeats):
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        new_sample.append(run_timed(at))
        at.number_input(key="walk_index").set_value(int(rng.integers(n_test)))
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        new_both.append(run_timed(at))
    size = figure_bytes(at)
    print(f"  attention     first view (cold caches, reads all snapshots) {cold:7.1f} ms")
    print(f"  attention     new sample, same snapshot   {summary(new_sample)}")
    print(f"  attention     new sample + new snapshot   {summary(new_both)}")
    print(f"  attention     figures sent                {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts")


def bench_latent(run_id: str, root: Path, n_snap: int, repeats: int, rng) -> None:
    """The Latent space page: a new point decoded (whole page rerun, warm), a new snapshot; and the issue's three
    targets timed on their own: decode one point, the 20×20 manifold, the map of a new snapshot."""
    from nnlab import Run
    from nnlab.analysis import latent as L

    at = app(run_id, LATENT)
    cold, _ = run_timed(at)
    points, snaps = [], []
    for _ in range(repeats):
        x = at.slider(key="latent_x")
        x.set_value(float(rng.uniform(x.min, x.max)))
        points.append(run_timed(at))
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        snaps.append(run_timed(at))
    size = figure_bytes(at)
    run = Run(root / run_id)
    ds, proj = run.dataset(), L.run_projection(run)
    decode, grid, new_map, own = [], [], [], []
    drawing = ds.prepare(ds.x_test[:1])  # a stand-in for a drawing: converted inputs are prepared the same way
    for _ in range(repeats):
        k = int(rng.integers(n_snap))
        run._cache.clear()  # a snapshot not read yet
        t = time.perf_counter()
        m = L.latent_info(run, k, proj)
        new_map.append(1e3 * (time.perf_counter() - t))
        model = run.model_at(k)
        t = time.perf_counter()
        L.encoded_input_info(run, k, model, drawing, proj)  # your drawing replayed at the new snapshot
        own.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        L.decoded_images(model, proj.to_code(np.array([[0.1, 0.2]])), ds)
        decode.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        L.decoded_images(model, L.grid_codes(proj, m.extent, 20), ds)
        grid.append(1e3 * (time.perf_counter() - t))
    med = statistics.median
    print(f"  latent space  first view (cold caches: the movie, reconstructions over training) {cold:7.1f} ms")
    print(f"  latent space  new point, page rerun       {summary(points)}")
    print(f"  latent space  new snapshot, page rerun    {summary(snaps)}")
    print(
        f"  latent space  decode one point {med(decode):.2f} ms (≤ 50) · 20×20 manifold {med(grid):.1f} ms (≤ 300) · "
        f"map at a new snapshot {med(new_map):.1f} ms (≤ 150), medians"
    )
    print(f"  latent space  your drawing encoded and placed at a new snapshot {med(own):.2f} ms (median)")
    print(f"  latent space  figures sent                {size / 1e6:.3f} MB in {len(at.get('plotly_chart'))} charts")


def bench_units(run_id: str, root: Path, n_snap: int, repeats: int, rng) -> None:
    """The Units page (warm reruns at a new unit, and at a new snapshot while rankings run in the background), then
    issue 17's targets timed on their own at snapshots not read yet: one unit's top examples (the layer's forward pass
    over the evaluation subset included), one ablation, and the ranking of the widest hidden layer."""
    import appkit
    from nnlab import Run
    from nnlab.analysis import ablation as A
    from nnlab.analysis import units as U

    at = app(run_id, UNITS)
    cold, _ = run_timed(at)
    pages = []
    for _ in range(repeats):
        box = at.number_input(key="units_unit")
        box.set_value(int(rng.integers(box.max + 1)))
        pages.append(run_timed(at))
    snaps = []  # each new snapshot starts the layer's ranking in the background, while the next reruns are timed
    for _ in range(repeats):
        at.slider(key="app_snapshot").set_value(int(rng.integers(n_snap)))
        snaps.append(run_timed(at))
    for key, task in list(appkit.background_tasks()._tasks.items()):
        assert key[0] != "units-ranking" or task.wait(600), "a ranking did not finish"
    run_timed(at)  # the page with its ranking drawn (the figures counted below)
    run = Run(root / run_id)
    ds = run.dataset()
    points = U.unit_points(run.points())
    point = max(points, key=lambda p: (p.shape[0], p.role == "activated"))  # the widest layer, after its activation
    n_units = point.shape[0]
    top, fresh, ablate, alone = [], [], [], []
    for _ in range(repeats):
        k, unit = int(rng.integers(n_snap)), int(rng.integers(n_units))
        run._cache.clear()
        t = time.perf_counter()
        table = U.run_unit_table(run, k, ds, point.name)  # the layer at a new snapshot: one forward pass
        U.run_unit_info(run, k, ds, point.name, unit, table=table)
        fresh.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        U.run_unit_info(run, k, ds, point.name, int(rng.integers(n_units)), table=table)  # another unit, same layer
        top.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        A.run_ablation_info(run, k, ds, point.name, [unit], table=table)  # as the page: from the layer's table
        ablate.append(1e3 * (time.perf_counter() - t))
        t = time.perf_counter()
        A.run_ablation_info(run, k, ds, point.name, [unit])  # on its own: the layers up to the point run too
        alone.append(1e3 * (time.perf_counter() - t))
    t = time.perf_counter()
    A.run_ablation_ranking(run, n_snap - 1, ds, point.name)
    rank_s = time.perf_counter() - t
    med = statistics.median
    print(f"  units         first view (cold caches, ranking in the background) {cold:7.1f} ms")
    print(f"  units         new unit, page rerun        {summary(pages)}")
    print(f"  units         new snapshot, page rerun    {summary(snaps)}  (rankings running in the background)")
    print(
        f"  units         {point.name} ({n_units} {point.per_unit}s): top examples of a new unit {med(top):.1f} ms "
        f"(≤ 150; at a new snapshot, the layer's forward pass included: {med(fresh):.1f} ms) · one ablation "
        f"{med(ablate):.1f} ms (≤ 300; without the layer's table {med(alone):.1f} ms) · ranking of all {n_units} "
        f"{rank_s:.2f} s (≤ 10), medians"
    )
    size, n = figure_bytes(at), len(at.get("plotly_chart"))
    print(f"  units         figures sent                {size / 1e6:.3f} MB in {n} charts")


def bench_sanity(run_id: str, root: Path, n_snap: int, repeats: int, rng) -> None:
    """The model randomisation cascade of the four default methods for a new sample at a new snapshot (issue 17)."""
    from nnlab import Run
    from nnlab.analysis import attribution as A

    run = Run(root / run_id)
    ds = run.dataset()
    A.cascade_info(run, 0, ds, 0, 0, A.DEFAULTS)  # imports captum
    times, layers = [], 0
    for _ in range(max(3, repeats // 4)):
        k, i = int(rng.integers(n_snap)), int(rng.integers(len(ds.y_test)))
        run._cache.clear()
        t = time.perf_counter()
        info = A.cascade_info(run, k, ds, i, int(ds.y_test[i]), A.DEFAULTS)
        times.append(time.perf_counter() - t)
        layers = len(info.layers)
    print(
        f"  sanity check  cascade of {', '.join(A.DEFAULTS)} over {layers} layers: median "
        f"{statistics.median(times):.2f} s · max {max(times):.2f} s (≤ 5 s, n={len(times)})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20, help="timed reruns per measurement")
    ap.add_argument("--kinds", nargs="*", default=["mlp", "cnn", "vit", "ae"], help="which rows (mlp, cnn, vit, ae)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    import torch

    print(
        f"nnlab bench: inside-the-network pages · torch {torch.__version__} · {os.cpu_count()} CPUs "
        f"· load average {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        root = Path(tmp)
        os.environ["NNLAB_RUNS_DIR"] = str(root)
        print("training short runs (default recording: 50 snapshots, 1,000 evaluation samples)")
        rows = {
            "mlp": (
                "MLP 784-128-64-10 on 28×28 (Fashion-MNIST shape)",
                "bench-fashion",
                MLPConfig(input_shape=(1, 28, 28), n_classes=10, hidden=(128, 64)),
                128,
            ),
            "cnn": (
                "CNN 16-32-64 on 32×32×3 (CIFAR-10 shape)",
                "bench-cifar",
                CNNConfig(input_shape=(3, 32, 32), n_classes=10),
                64,
            ),
            "vit": ("ViT 4×64, 4 heads, 7×7 patches on 28×28 (Fashion-MNIST shape)", "bench-fashion", ViTConfig(), 64),
            "digits": ("CNN 16-32 → 64 on digits (8×8)", "digits", CNNConfig(input_shape=(1, 8, 8), n_classes=10), 64),
            "ae": (
                "Autoencoder 784-256-64-2-64-256-784 on 28×28 (Fashion-MNIST shape)",
                "bench-fashion",
                AEConfig(input_shape=(1, 28, 28), n_classes=10, hidden=(256, 64)),
                128,
            ),
        }
        kinds = args.kinds + ["digits"] * ("cnn" in args.kinds and "digits" not in args.kinds)  # + issue 17's cascade
        trained = [(rows[k][0], train(root, rows[k][1], rows[k][2], rows[k][3]), 2000) for k in kinds]
        for label, run_id, n_test in trained:
            from nnlab import Run

            n_snap = len(Run(root / run_id))
            print(f"\n{label}: {n_snap} snapshots")
            if "digits" in label:  # issue 17's cascade row only
                bench_sanity(run_id, root, n_snap, args.repeats, rng)
                continue
            bench_walkthrough(run_id, n_test, n_snap, args.repeats, rng)
            bench_classes(run_id, n_snap, args.repeats, rng)
            if "Autoencoder" in label:  # attribution of a class score does not apply; the page says so
                bench_latent(run_id, root, n_snap, args.repeats, rng)
            else:
                bench_attribution(run_id, n_test, n_snap, args.repeats, rng)
            bench_hidden(run_id, n_snap, args.repeats, rng)
            if "MLP" in label or "CNN" in label:
                bench_units(run_id, root, n_snap, args.repeats, rng)
            if "ViT" in label:
                bench_attention(run_id, n_test, n_snap, args.repeats, rng)
    print(
        "\ntargets: walk-through ≤ 150 ms, class averages ≤ 300 ms, attribution ≤ 1 s of server time once warm; "
        "≤ 3 MB of figures a page; latent space: decode a point ≤ 50 ms, 20×20 manifold ≤ 300 ms, new map ≤ 150 ms"
    )


if __name__ == "__main__":
    main()
