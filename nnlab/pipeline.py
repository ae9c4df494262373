"""One call from configs to a recorded run: load data, seed, build, train with the recorder.

This is what the command line and the app's Train page call; a notebook can too.
For your own model and loop, use `Recorder` and `RunWriter` directly (see README).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import torch

from .data import DataConfig, Dataset, balanced_indices, load_dataset
from .failures import ERROR_LOG
from .models import build_model, check_budget, model_kind
from .record import RecordConfig, Recorder
from .runs import Run, RunWriter, new_run_folder, runs_dir
from .train import Callback, TrainConfig, Trainer


def default_train(ds: Dataset, **overrides) -> TrainConfig:
    """Training defaults for a dataset: Adam at 3e-3; batches of 32 for small sets, 128 for large ones."""
    batch = 32 if len(ds.y_train) < 5000 else 128
    return TrainConfig(**{"batch_size": batch, **overrides})


def default_model(ds: Dataset, kind: str = "mlp"):
    """The default network of a registered kind for a dataset (the kind's defaults, sized to the data)."""
    try:
        return model_kind(kind).config(input_shape=ds.input_shape, n_classes=ds.n_classes)
    except ValueError as e:
        raise ValueError(f"{ds.name} (input shape {ds.input_shape}) does not suit this network: {e}") from None


def make_trainer(
    data: DataConfig,
    model=None,
    train: TrainConfig | None = None,
    record: RecordConfig | None = None,
    *,
    root: Path | str | None = None,
    name: str | None = None,
    callbacks: tuple = (),
    dataset: Dataset | None = None,
    manifest: dict | None = None,
) -> tuple[Trainer, Path]:
    """A trainer with a recorder writing a new run folder under `root`; call `.fit()` to train.

    Args:
        data: which dataset (and training subset).
        model: the network, a registered kind's config (`MLPConfig`, `CNNConfig`, ...); default
            `default_model(dataset)`. Refused in words when it is over the server's size limits.
        train: optimizer and schedule; default `default_train(dataset)`.
        record: what the recorder keeps.
        root: the runs folder (default `$NNLAB_RUNS_DIR` or `runs/`).
        name: prefix of the run folder's name.
        callbacks: more callbacks (progress bars, live panels).
        dataset: the already-loaded dataset for `data`, to skip loading it again.
        manifest: more fields for the run's manifest (a job's `job_id`, `config_key`, `owner`, `shared`).
    Returns: the trainer and the run folder.
    """
    ds = dataset or load_dataset(data)  # `train` was validated when it was made (TrainConfig is frozen)
    model = model or default_model(ds)
    record = record or RecordConfig()
    train = train or default_train(ds)
    if tuple(model.input_shape) != ds.input_shape or model.n_classes != ds.n_classes:
        raise ValueError(
            f"The model expects input {tuple(model.input_shape)} and {model.n_classes} classes; "
            f"{ds.name} has {ds.input_shape} and {ds.n_classes}"
        )
    check_budget(model, train.batch_size)
    torch.manual_seed(train.seed)
    net = build_model(model)
    folder = new_run_folder(root or runs_dir(), name or f"{ds.name}-{model.kind}")
    try:
        writer = RunWriter(
            folder,
            data=data.to_dict(),
            model=asdict(model),
            train=train.to_dict(),
            record=record.to_dict(),
            dataset_info=ds.manifest(),
            extra=manifest,
        )
        idx = balanced_indices(ds.y_test, record.eval_size, seed=0)
        writer.save_eval_set(idx, ds.y_test[idx])
        x_eval, y_eval = ds.prepare(ds.x_test[idx]), torch.from_numpy(ds.y_test[idx])
        recorder = Recorder(writer, x_eval, y_eval, ds.n_classes, record)
        trainer = Trainer(
            net,
            train,
            ds.prepare(ds.x_train),
            torch.from_numpy(ds.y_train),
            ds.prepare(ds.x_test),
            torch.from_numpy(ds.y_test),
            callbacks=[recorder, *callbacks],
        )
        trainer.error_log = folder / ERROR_LOG  # what ends training in an exception leaves its traceback there
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # a run that never started leaves nothing behind
        raise
    return trainer, folder


def train_run(
    data: DataConfig,
    model=None,
    train: TrainConfig | None = None,
    record: RecordConfig = RecordConfig(),
    **kwargs,
) -> Run:
    """Train and record; returns the finished `Run`. Keyword arguments as for `make_trainer`."""
    trainer, folder = make_trainer(data, model, train, record, **kwargs)
    trainer.fit()
    return Run(folder)


class ProgressBar(Callback):
    """A tqdm bar over steps showing loss, accuracy and epoch (for the command line)."""

    def on_train_start(self, trainer):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=trainer.total_steps, unit="step", dynamic_ncols=True)

    def on_step_end(self, trainer, loss, acc):
        self.bar.update(1)
        if trainer.step % 20 == 0:
            metric = {trainer.task.metric: f"{acc:.2f}"}  # accuracy, or an autoencoder's reconstruction error
            self.bar.set_postfix(loss=f"{loss:.3f}", **metric, epoch=trainer.epoch + 1)

    def on_epoch_end(self, trainer, metrics):
        self.bar.write(
            f"epoch {metrics['epoch']}: train loss {metrics['train_loss']:.4f}, "
            f"test {trainer.task.metric} {metrics.get('test_' + trainer.task.metric, float('nan')):.4f}"
        )

    def on_train_end(self, trainer):
        self.bar.close()
