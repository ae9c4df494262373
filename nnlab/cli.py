"""The command line: `python -m nnlab train|runs|datasets|download|classify|features`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .data import DataConfig, data_dir, list_datasets, load_dataset
from .data.download import DOWNLOADS, DownloadError, cache_folder, download, is_cached
from .data.formats import DataFileError
from .data.registry import discover
from .failures import error_log_path, write_error_log
from .models import describe_model, model_kinds
from .pipeline import ProgressBar, default_train, make_trainer
from .record import RecordConfig
from .runs import Run, runs_dir, scan_runs
from .train import TrainConfig


class TerminalProgress:
    """A tqdm bar per file for the command line; pass an instance as `progress=`."""

    def __init__(self):
        self.bar, self.name = None, None

    def __call__(self, done: int, total: int | None, filename: str) -> None:
        from tqdm.auto import tqdm

        if self.bar is None or filename != self.name or done < self.bar.n:  # a new file, or a retry
            self.close()
            self.bar = tqdm(total=total, desc=filename, unit="B", unit_scale=True, unit_divisor=1024)
            self.name = filename
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a network and record a run")
    p.add_argument("--dataset", default="moons", help="dataset name (see `python -m nnlab datasets`)")
    p.add_argument("--subset", type=int, default=None, help="train on a class-balanced subset of this size")
    p.add_argument("--noise", type=float, default=None, help="noise of a generated 2-D set")
    p.add_argument("--samples", type=int, default=None, help="number of samples of a generated set")
    p.add_argument("--sparsity", type=float, default=None, help="sparse-features: share of zeros, 0 to below 1")
    p.add_argument("--n-features", type=int, default=None, help="sparse-features: how many features")
    kinds = model_kinds()
    p.add_argument("--model", choices=list(kinds), default="mlp", help="the kind of network")
    _model_arguments(p, kinds)
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 3e-3)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--batch-size", type=int, default=None, help="default: 32 for small sets, 128 for large")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--schedule", choices=["constant", "cosine", "step"], default="constant")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--snapshots", type=int, default=50, help="snapshots besides the initial state")
    p.add_argument("--device", default="auto")
    p.add_argument("--name", default=None, help="prefix of the run folder's name")
    p.add_argument("--runs-dir", default=None, help="default $NNLAB_RUNS_DIR or runs/")


def _model_arguments(p, kinds) -> None:
    """One option per setting of every kind's form (`--hidden 128 64`, `--channels 16 32`, `--batch-norm`)."""
    seen: dict[str, list[str]] = {}
    for kind in kinds.values():
        for f in kind.form:
            seen.setdefault(f.name, []).append(kind.name)
    done = set()
    for kind in kinds.values():
        for f in kind.form:
            if f.name in done:
                continue
            done.add(f.name)
            flag, where = "--" + f.name.replace("_", "-"), f"{f.label} ({', '.join(seen[f.name])})"
            if f.widget == "ints":
                p.add_argument(flag, type=int, nargs="*", default=None, help=f"{where}, e.g. 128 64")
            elif f.widget == "choice":
                kind_of = type(f.choices[0]) if f.choices else str
                p.add_argument(flag, type=kind_of, choices=f.choices, default=None, help=where)
            elif f.widget == "int":
                p.add_argument(flag, type=int, default=None, help=where)
            elif f.widget == "slider":
                p.add_argument(flag, type=float, default=None, help=f"{where}, {f.low} to {f.high}")
            else:
                p.add_argument(flag, action="store_const", const=True, default=None, help=where)


def _model_config(a, ds):
    """The network the options ask for: the chosen kind's settings; other kinds' settings are refused."""
    kind = model_kinds()[a.model]
    everything = {f.name for k in model_kinds().values() for f in k.form}
    values = {name: getattr(a, name) for name in everything if getattr(a, name, None) is not None}
    return kind.make(ds.input_shape, ds.n_classes, **values)


def cmd_train(a) -> int:
    _train_config(a, TrainConfig())  # refuse out-of-range settings before loading or downloading anything
    given = {"noise": a.noise, "n_samples": a.samples, "sparsity": a.sparsity, "n_features": a.n_features}
    options = {k: v for k, v in given.items() if v is not None}
    data = DataConfig.make(a.dataset, train_subset=a.subset, **options)
    if a.dataset in DOWNLOADS and not is_cached(a.dataset):
        download(a.dataset, progress=TerminalProgress())  # first use: show the download, then train
    ds = load_dataset(data)
    model = _model_config(a, ds)
    train = _train_config(a, default_train(ds))
    trainer, folder = make_trainer(
        data,
        model,
        train,
        RecordConfig(snapshots=a.snapshots),
        root=a.runs_dir,
        name=a.name,
        callbacks=(ProgressBar(),),
        dataset=ds,
    )
    try:
        trainer.fit()
    except KeyboardInterrupt:
        print(f"interrupted: {trainer.message} Run folder: {folder}", file=sys.stderr)
        return 130
    except Exception:  # the trainer marked the run failed, said why and logged the traceback: one line here
        log = trainer.error_log if trainer.error_log is not None and trainer.error_log.is_file() else None
        print(f"error: {trainer.message} ({log or 'no log: it could not be written'})", file=sys.stderr)
        return 1
    run = Run(folder)
    acc = run.final_accuracy
    print(f"{run.status}: test accuracy {acc:.4f}" if acc is not None else run.status)
    if run.manifest.get("did_not_learn"):  # exit 0: the run is complete and worth a look, but say so
        print(f"warning: the network did not learn. {run.message}", file=sys.stderr)
    elif run.message:
        print(run.message)
    print(f"run folder: {run.folder}")
    return 0 if run.status in ("complete", "stopped") else 1


def _train_config(a, base: TrainConfig) -> TrainConfig:
    """The training options as a validated `TrainConfig` (a ValueError in words if one is out of range)."""
    return TrainConfig(
        optimizer=a.optimizer,
        lr=a.lr if a.lr is not None else base.lr,
        momentum=a.momentum,
        batch_size=a.batch_size if a.batch_size is not None else base.batch_size,
        epochs=a.epochs,
        weight_decay=a.weight_decay,
        schedule=a.schedule,
        seed=a.seed,
        device=a.device,
    )


def cmd_runs(a) -> int:
    """The runs that open, newest first, then the damaged ones with the reason (exit code 0 either way)."""
    runs, damaged = scan_runs(a.runs_dir or runs_dir())
    if not runs and not damaged:
        print(f"No runs in {a.runs_dir or runs_dir()}. Train one: python -m nnlab train --dataset moons")
        return 0
    if runs:
        print(f"{'run':44} {'dataset':14} {'model':18} {'acc':>6} {'status':11} created")
    for r in runs:  # every value printed here was checked by the manifest schema
        arch = describe_model(r.manifest["model"])
        acc = f"{r.final_accuracy:.3f}" if r.final_accuracy is not None else "-"
        print(f"{r.id:44} {r.manifest['data']['name']:14} {arch:18} {acc:>6} {r.status:11} {r.created}")
    if damaged:
        n = len(damaged)
        print(f"\n{n} damaged run{'s' * (n != 1)} (download or delete them on the app's Runs page):")
    for d in damaged:
        print(f"{d.id:44} {d.reason}")
    return 0


def cmd_datasets(a) -> int:
    root = Path(a.data_dir) if a.data_dir else data_dir()
    table = {k: v for k, v in list_datasets().items() if v.source != "file"}
    table.update({k: v for k, v in discover(root).items() if k not in table})
    print(f"{'dataset':16} {'kind':9} {'source':9} {'available':48} description")
    for name, info in table.items():
        if info.source == "download":
            ok = is_cached(name, root)
            where = f"cached: {cache_folder(name, root)}" if ok else f"not yet: python -m nnlab download {name}"
        elif info.source == "file":
            where = f"file in {root}"
        else:
            where = "yes"
        print(f"{name:16} {info.kind:9} {info.source:9} {where:48} {info.description}")
    print(f"\nData folder: {root.resolve()} (set NNLAB_DATA_DIR to move it). Drop your own .npz or .csv files there.")
    return 0


def cmd_download(a) -> int:
    root = Path(a.data_dir) if a.data_dir else data_dir()
    names = list(DOWNLOADS) if "all" in a.names else a.names
    status = 0
    for name in names:
        if is_cached(name, root):
            print(f"{name}: already in {cache_folder(name, root)}")
        else:
            bar = TerminalProgress()
            try:
                download(name, root, bar, timeout=a.timeout)
            except DownloadError as e:
                print(f"error: {e}", file=sys.stderr)
                status = 1
                continue
            finally:
                bar.close()
        try:
            ds = list_datasets()[name].loader(root=root)
        except DataFileError as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
            continue
        print(
            f"{name}: {len(ds.y_train):,} train + {len(ds.y_test):,} test images of {ds.input_shape}, "
            f"{ds.n_classes} classes, in {cache_folder(name, root)}"
        )
    return status


def cmd_classify(a) -> int:
    """Each photo's top K classes under a pretrained network: a line with the file, then rank, class, probability."""
    from .analysis.photo import classify, read_photo
    from .data.own_input import MAX_UPLOAD_BYTES, OwnInputError
    from .models import build_model
    from .models.pretrained import PretrainedConfig, pretrained_network, pretrained_networks

    name = a.network or next(iter(pretrained_networks()), None)
    if name is None:
        raise ValueError("no pretrained network is installed: run `pip install -r requirements.txt`")
    net = pretrained_network(name)
    if not 1 <= a.top <= len(net.classes):
        raise ValueError(f"--top must be from 1 to {len(net.classes)}; got {a.top}")
    model, status = build_model(PretrainedConfig(name)), 0
    for path in map(Path, a.photos):
        try:
            if not path.is_file():
                raise OwnInputError("no such file")
            if path.stat().st_size > MAX_UPLOAD_BYTES:
                raise OwnInputError(f"the file is larger than {MAX_UPLOAD_BYTES >> 20} MB")
            ranked = classify(net, model, read_photo(path.read_bytes()).rgb, a.top)
        except (OwnInputError, OSError) as e:
            print(f"error: {path}: {e}", file=sys.stderr)
            status = 1
            continue
        print(path)
        for rank, (label, p) in enumerate(zip(ranked.names, ranked.probs, strict=True), 1):
            print(f"{rank}\t{label}\t{p:.4f}")
    return status


def cmd_features(a) -> int:
    """Train a sparse autoencoder on one point of a run, save it in the run folder, print its quality and the median
    class purity of its features against the point's neurons."""
    import numpy as np
    import torch

    from .analysis import features, sae, units
    from .runs import RunError, run_path

    root = Path(a.runs_dir) if a.runs_dir else runs_dir()
    folder = run_path(root, a.run)
    if not folder.is_dir():
        raise ValueError(f"no run named {a.run!r} in {root}")
    from tqdm.auto import tqdm

    with tqdm(total=100, desc="training the SAE", unit="%", bar_format="{l_bar}{bar}| {postfix}") as bar:

        def progress(fraction: float, words: str) -> None:
            bar.update(round(100 * fraction) - bar.n)
            bar.set_postfix_str(words, refresh=False)

        try:
            saved = sae.train_in_run(
                folder, a.point, a.snapshot, a.width, a.k, progress=progress, seed=a.seed, epochs=a.epochs
            )
        except RunError as e:
            raise ValueError(str(e)) from None
    run = Run(folder)
    m, entry = sae.load_sae(saved)
    point = run.point(a.point)
    k = entry["snapshot"]
    with torch.inference_mode():
        model, dataset = run.model_at(k), run.dataset()
        x, idx, labels = units.eval_inputs(run, dataset)
        table = features.feature_table(model, m, x, point, idx, labels)
    comp = features.neurons_vs_features(table, m, max(len(run.class_names), int(np.max(labels)) + 1))
    q = table.quality
    live = int((~np.isnan(comp.feature_purity)).sum())
    print(f"saved {saved.relative_to(root)} ({entry['vectors']:,} training vectors, {entry['seconds']:.1f} s)")
    print(f"snapshot {k} (step {entry.get('step')}), point {a.point}: {m.width} features, k = {m.k}")
    print(f"on the evaluation subset ({len(x):,} samples):")
    print(f"  variance explained   {q.variance_explained:.3f}")
    print(f"  L0 (mean active)     {q.l0:.2f}")
    print(f"  dead features        {q.dead:.1%}")
    print(f"  dense features       {q.dense:.1%}")
    print(f"  {table.metric:<20} {table.intact:.4f} intact, {table.spliced:.4f} spliced in (the layer replaced)")
    print(f"  median class purity  features {comp.feature_median:.2f} ({live} live), neurons {comp.neuron_median:.2f}")
    return 0


def _features_parser(sub) -> None:
    p = sub.add_parser("features", help="train a sparse autoencoder on one point of a run and print its quality")
    p.add_argument("run", metavar="RUN", help="the run's name (see `python -m nnlab runs`)")
    p.add_argument("--point", required=True, help="a hidden point of its network: relu1, conv2, block1, code, ...")
    p.add_argument("--snapshot", type=int, default=None, help="index of the snapshot (default: the last)")
    p.add_argument("--width", type=int, default=256, help="number of features (default 256)")
    p.add_argument("--k", type=int, default=8, help="features active per vector (default 8)")
    p.add_argument(
        "--epochs", type=int, default=None, help="passes over the training vectors (default: about 1,000 steps)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs-dir", default=None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlab", description="Train small networks and record them.")
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    p = sub.add_parser("runs", help="list recorded runs")
    p.add_argument("--runs-dir", default=None)
    p = sub.add_parser("datasets", help="list the datasets: built-in, downloadable (and whether cached), your files")
    p.add_argument("--data-dir", default=None, help="default $NNLAB_DATA_DIR or datasets/")
    p = sub.add_parser("download", help="download mnist, fashion-mnist, cifar-10 (or all) into the data folder")
    p.add_argument(
        "names",
        nargs="+",
        choices=[*DOWNLOADS, "all"],
        metavar="NAME",
        help=f"one or more of: {', '.join(DOWNLOADS)}, all",
    )
    p.add_argument("--data-dir", default=None, help="default $NNLAB_DATA_DIR or datasets/")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait to connect and for each read")
    p = sub.add_parser("classify", help="the top classes of photos under a pretrained network (EfficientNet-Lite0)")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="PNG, JPEG, WebP or GIF files")
    p.add_argument("--top", type=int, default=5, help="how many classes to print per photo (default 5)")
    p.add_argument("--network", default=None, help="a registered pretrained network (default efficientnet-lite0)")
    _features_parser(sub)
    a = parser.parse_args(argv)
    try:
        commands = {"train": cmd_train, "runs": cmd_runs, "datasets": cmd_datasets, "download": cmd_download}
        return {**commands, "classify": cmd_classify, "features": cmd_features}[a.command](a)
    except (KeyError, ValueError, DownloadError) as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # anything else: one line in words, the traceback in the runs folder's log
        root = getattr(a, "runs_dir", None) or runs_dir()
        log = write_error_log(error_log_path(None, root), e, f"python -m nnlab {a.command}")
        print(f"error: {type(e).__name__}: {e} ({log or 'no log: it could not be written'})", file=sys.stderr)
        return 1
