"""Benchmark: what recording costs, what in-memory batching saves, and how big a default run is on disk.

Not run by pytest: `python bench/train_overhead.py` (about 10 minutes on 2 cores; `--quick` for a smoke run;
`--rows vit --size-epochs 0` for the ViT row alone, without the run-size measurement).
For a Fashion-MNIST-shaped set (784-128-64-10 MLP), a CIFAR-shaped set (default small CNN) and an MNIST-shaped set
of 20k (default ViT: 4 blocks of width 64, 4 heads, 7×7 patches) it prints
seconds per epoch of (a) a plain in-memory PyTorch loop, (b) nnlab's trainer with default recording and
(c) the common tutorial loop (one image converted at a time in a Dataset, in a DataLoader), the ratios b/a
(target ≤ 1.10) and c/b (target ≥ 5), then the size on disk of a default 20-epoch run (target ≤ 40 MB).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from nnlab import DataConfig, Dataset, RecordConfig, TrainConfig, build_model, make_trainer  # noqa: E402
from nnlab.pipeline import default_model, default_train  # noqa: E402
from nnlab.train import make_optimizer  # noqa: E402


def synthetic(name: str, n_train: int, n_test: int, shape: tuple[int, ...], seed: int = 0) -> Dataset:
    """uint8 images (N, C, H, W) in 10 classes: a smooth per-class template plus pixel noise (about 90% learnable)."""
    rng = np.random.default_rng(seed)
    c, h, w = shape
    coarse = rng.uniform(0, 255, (10, c, h // 4, w // 4)).astype(np.float32)
    templates = coarse.repeat(4, 2).repeat(4, 3)  # (10, C, H, W) blocky class means
    y = rng.integers(0, 10, n_train + n_test)
    x = np.empty((len(y), *shape), np.uint8)
    for i in range(0, len(y), 10_000):  # in chunks, to keep float memory small
        part = templates[y[i : i + 10_000]] * 0.12 + rng.normal(128, 70, (len(y[i : i + 10_000]), *shape))
        x[i : i + 10_000] = part.clip(0, 255).astype(np.uint8)
    classes = tuple(f"class {k}" for k in range(10))
    return Dataset(name, x[:n_train], y[:n_train], x[n_train:], y[n_train:], classes, "synthetic benchmark data")


class Clock:
    """Wall-clock and process CPU seconds since creation (CPU time is less disturbed by other processes)."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def per_epoch(self, epochs: int) -> tuple[float, float]:
        return (time.perf_counter() - self.wall) / epochs, (time.process_time() - self.cpu) / epochs


@torch.no_grad()
def evaluate(model, x, y, batch_size=1024):
    """The trainer's per-epoch test evaluation: eval mode, batches of 1024, mean loss and accuracy."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(y), batch_size):
        logits = model(x[i : i + batch_size])
        loss += F.cross_entropy(logits, y[i : i + batch_size]).item() * len(logits)
        correct += (logits.argmax(1) == y[i : i + batch_size]).sum().item()
    model.train()
    return loss / len(y), correct / len(y)


def plain_loop(ds: Dataset, model_cfg, cfg: TrainConfig) -> tuple[float, float]:
    """(a) Seconds per epoch of a plain loop over in-memory tensors: same init, batches and test evaluation."""
    x, y = ds.prepare(ds.x_train), torch.from_numpy(ds.y_train)
    xt, yt = ds.prepare(ds.x_test), torch.from_numpy(ds.y_test)
    torch.manual_seed(cfg.seed)
    model = build_model(model_cfg)
    opt = make_optimizer(model, cfg)
    gen = torch.Generator().manual_seed(cfg.seed)
    clock = Clock()
    for _ in range(cfg.epochs):
        perm = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), cfg.batch_size):
            idx = perm[i : i + cfg.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            loss.item()  # every loop logs its loss
        evaluate(model, xt, yt)
    return clock.per_epoch(cfg.epochs)


class Timed:
    """Forwards a callback's events and adds up the process CPU seconds they take."""

    def __init__(self, inner):
        self.inner, self.seconds = inner, 0.0

    def __getattr__(self, event):
        method = getattr(self.inner, event)

        def timed(*args):
            start = time.process_time()
            try:
                return method(*args)
            finally:
                self.seconds += time.process_time() - start

        return timed


def nnlab_trainer(ds: Dataset, model_cfg, cfg: TrainConfig, root: Path) -> tuple[float, float, float]:
    """(b) Seconds per epoch of `make_trainer(...).fit()`, default recording at a 20-epoch run's snapshot density.

    Returns wall and CPU seconds per epoch, and the recorder's CPU time over the rest of the run's.
    """
    record = RecordConfig(snapshots=max(1, round(50 * cfg.epochs / 20)))
    trainer, _ = make_trainer(DataConfig(ds.name), model_cfg, cfg, record, root=root, dataset=ds)
    trainer.callbacks[0] = recorder = Timed(trainer.callbacks[0])
    clock = Clock()
    trainer.fit()
    wall, cpu = clock.per_epoch(cfg.epochs)
    return wall, cpu, recorder.seconds / (cpu * cfg.epochs - recorder.seconds)


class TutorialImages(torch.utils.data.Dataset):
    """The tutorial way: each item converts one uint8 image to a normalised float tensor with numpy."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray):
        self.images, self.labels = images, labels
        self.mean, self.std = torch.from_numpy(mean), torch.from_numpy(std)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        x = torch.from_numpy(self.images[i].astype(np.float32) / 255.0)  # (C, H, W)
        return (x - self.mean) / self.std, int(self.labels[i])


class TorchvisionStyleImages(TutorialImages):
    """What torchvision's MNIST/CIFAR datasets with ToTensor() and Normalize() do per item: a PIL image first."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, mean: np.ndarray, std: np.ndarray):
        super().__init__(images, labels, mean, std)
        hwc = np.ascontiguousarray(np.moveaxis(images, 1, -1))  # stored as torchvision does: (N, H, W[, 3])
        self.hwc = hwc[..., 0] if hwc.shape[-1] == 1 else hwc

    def __getitem__(self, i):
        img = Image.fromarray(self.hwc[i])
        x = torch.from_numpy(np.array(img, np.uint8, copy=True))  # ToTensor: (H, W[, C]) uint8 ...
        x = x.view(img.size[1], img.size[0], -1).permute(2, 0, 1).contiguous().float().div(255)  # ... → (C, H, W)
        return (x - self.mean) / self.std, int(self.labels[i])  # Normalize


def tutorial_loop(ds: Dataset, model_cfg, cfg: TrainConfig, dataset_class=TutorialImages) -> tuple[float, float]:
    """(c) Seconds per epoch of the tutorial loop: DataLoader(batch 128, shuffle, num_workers=0), test set likewise."""
    train = torch.utils.data.DataLoader(
        dataset_class(ds.x_train, ds.y_train, ds.mean, ds.std), batch_size=128, shuffle=True, num_workers=0
    )
    test = torch.utils.data.DataLoader(dataset_class(ds.x_test, ds.y_test, ds.mean, ds.std), batch_size=128)
    torch.manual_seed(cfg.seed)
    model = build_model(model_cfg)
    opt = make_optimizer(model, cfg)
    clock = Clock()
    for _ in range(cfg.epochs):
        for xb, yb in train:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
        model.eval()
        with torch.no_grad():
            sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in test)
        model.train()
    return clock.per_epoch(cfg.epochs)


def compare(title: str, ds: Dataset, model_cfg, epochs: int, repeats: int, root: Path) -> dict:
    """a and b interleaved `repeats` times (the best of each kept), then c and c2 once, for one epoch each."""
    cfg = default_train(ds, epochs=epochs)
    a, b = [], []
    for _ in range(repeats):
        a.append(plain_loop(ds, model_cfg, cfg))
        b.append(nnlab_trainer(ds, model_cfg, cfg, root))
    c = tutorial_loop(ds, model_cfg, default_train(ds, epochs=1))
    c2 = tutorial_loop(ds, model_cfg, default_train(ds, epochs=1), TorchvisionStyleImages)
    print(
        f"  {title}: wall a {fmt(x[0] for x in a)}, b {fmt(x[0] for x in b)}, c {c[0]:.2f}, c2 {c2[0]:.2f} s/epoch",
        flush=True,
    )
    best = lambda runs, i: min(x[i] for x in runs)  # noqa: E731
    return {
        "title": title,
        "n": len(ds.y_train),
        "share": best(b, 2),
        "a": (best(a, 0), best(a, 1)),
        "b": (best(b, 0), best(b, 1)),
        "c": c,
        "c2": c2,
    }


def fmt(values):
    return "/".join(f"{v:.2f}" for v in values)


GROUPS = ("param", "grad", "opt", "buffer")


def run_size(folder: Path) -> dict[str, float]:
    """Bytes of a run folder by kind: weights, gradients, optimizer state, buffers, statistics, other."""
    sizes = dict.fromkeys([*GROUPS, "stats", "file headers", "other files"], 0)
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        if path.parent.name != "snapshots":
            sizes["other files"] += path.stat().st_size
            continue
        tensors = load_file(path)
        payload = 0
        for key, t in tensors.items():
            n = t.numel() * t.element_size()
            group = key.split("/")[0]
            sizes[group if group in GROUPS else "stats"] += n
            payload += n
        sizes["file headers"] += path.stat().st_size - payload
    return sizes


def shuffled_deflate(t: torch.Tensor, previous: torch.Tensor | None = None) -> int:
    """Bytes after a lossless byte-plane shuffle (XOR with the previous snapshot's bits first, if given) and zlib -1."""
    raw = t.contiguous().view(torch.uint8 if t.element_size() == 1 else getattr(torch, f"int{8 * t.element_size()}"))
    if previous is not None:
        raw = raw ^ previous.contiguous().view(raw.dtype)
    planes = raw.numpy().view(np.uint8).reshape(-1, t.element_size()).T.copy()  # (bytes per value, N)
    return len(zlib.compress(planes.tobytes(), 1))


def lossless_estimate(folder: Path) -> tuple[int, int]:
    """Run size if each snapshot tensor were stored shuffled + deflated; and with weights XOR-delta coded."""
    plain, delta, previous = 0, 0, {}
    for path in sorted((folder / "snapshots").glob("*.safetensors")):
        tensors = load_file(path)
        for key, t in tensors.items():
            size = shuffled_deflate(t)
            plain += size
            prev = previous.get(key) if key.startswith("param/") else None
            delta += shuffled_deflate(t, prev) if prev is not None else size
        previous = {k: v for k, v in tensors.items() if k.startswith("param/")}
    other = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    return plain + other, delta + other


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that the script runs")
    parser.add_argument("--size-epochs", type=int, default=20, help="epochs of the run whose size is measured")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats of a and b (best kept)")
    parser.add_argument("--rows", nargs="*", default=["mlp", "cnn", "vit"], help="which rows (mlp, cnn, vit)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    q = args.quick
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads (same for a, b and c)", flush=True)
    fashion = synthetic("fashion-like", 3000 if q else 60_000, 500 if q else 10_000, (1, 28, 28))
    cifar = synthetic("cifar-like", 1000 if q else 50_000, 500 if q else 10_000, (3, 32, 32), seed=1)
    mlp = default_model(fashion)
    cnn = default_model(cifar, "cnn")
    mnist = synthetic("mnist-like", 1000 if q else 20_000, 500 if q else 2_000, (1, 28, 28), seed=2)
    vit = default_model(mnist, "vit")
    with tempfile.TemporaryDirectory(prefix="nnlab-bench-") as tmp:
        n = args.repeats
        rows = {
            "mlp": ("Fashion-shaped MLP 784-128-64-10, 60k train", fashion, mlp),
            "cnn": ("CIFAR-shaped CNN 16-32 + 64, 50k train", cifar, cnn),
            "vit": ("MNIST-shaped ViT 4×64, 4 heads, 20k train", mnist, vit),
        }
        rows = [compare(*rows[k], 2, n, Path(tmp)) for k in args.rows]
        for clock, i in (("wall-clock", 0), ("process CPU", 1)):
            print(
                f"\n{clock + ' s/epoch':46} {'a plain':>8} {'b nnlab':>8} {'c tutor.':>8} {'c2 PIL':>8} "
                f"{'b/a':>6} {'c/b':>6} {'c2/b':>6}"
            )
            for r in rows:
                a, b, c, c2 = r["a"][i], r["b"][i], r["c"][i], r["c2"][i]
                print(f"{r['title']:46} {a:8.2f} {b:8.2f} {c:8.2f} {c2:8.2f} {b / a:6.2f} {c / b:6.2f} {c2 / b:6.2f}")
        print(
            f"targets: b/a <= 1.10, c/b >= 5. a and b: best of {n}, interleaved, 2 epochs each; c and c2: 1 epoch. "
            "Every epoch includes the test-set evaluation; b includes its initial snapshot and 5 snapshots per "
            "2 epochs (50 per 20 epochs). c: numpy conversion per item (as specified); c2: torchvision-style "
            "(PIL image, ToTensor, Normalize) per item."
        )
        print("Measured inside b (robust to other processes): the recorder's CPU time over the rest of the run's")
        for r in rows:
            scaled = f"; at 60k samples per epoch: about {100 * r['share'] * r['n'] / 60_000:.1f}%" if q else ""
            print(f"  {r['title']}: {100 * r['share']:.1f}%{scaled}")
        print(flush=True)
        if args.size_epochs <= 0:  # --size-epochs 0: no run-size measurement
            return

        start = time.perf_counter()
        cfg = default_train(fashion, epochs=args.size_epochs)
        trainer, folder = make_trainer(DataConfig(fashion.name), mlp, cfg, RecordConfig(), root=tmp, dataset=fashion)
        trainer.fit()
        sizes = run_size(folder)
        total = sum(sizes.values())
        n_files = len(list(folder.glob("snapshots/*")))
        print(
            f"Default run (RecordConfig()): {args.size_epochs} epochs, {trainer.total_steps} steps, {n_files} "
            f"snapshot files, trained in {time.perf_counter() - start:.0f} s, test accuracy "
            f"{trainer.history[-1]['test_acc']:.3f}"
        )
        for k, v in sizes.items():
            print(f"  {k:14} {v / 1e6:7.2f} MB  {100 * v / total:5.1f} %")
        print(f"  {'total':14} {total / 1e6:7.2f} MB  (target <= 40 MB)")
        plain, delta = lossless_estimate(folder)
        print(
            f"Lossless estimates (zlib level 1 per tensor): byte-shuffled {plain / 1e6:.2f} MB; with each weight "
            f"XOR its previous snapshot's {delta / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
