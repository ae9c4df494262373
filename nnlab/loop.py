"""Recording a training loop you wrote yourself: the recorder without nnlab's Trainer.

    with record_loop(model, optimizer, "runs/my-run", x_eval, y_eval, class_names,
                     total_steps=epochs * len(loader), steps_per_epoch=len(loader)) as rec:
        for epoch in range(epochs):
            for xb, yb in loader:
                ...; loss.backward(); optimizer.step()
                rec.step_done(loss.item())
            rec.epoch(test_acc=evaluate(model))

The folder opens in the app like any other run; if `model` was built by `nnlab.build_model`
(any registered kind) every view works, otherwise the views that rebuild the network are unavailable.
"""

from __future__ import annotations

import numbers
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .data import DataConfig, Dataset
from .failures import explain_failure
from .models import model_kinds
from .record import RecordConfig, Recorder
from .runs import RunWriter
from .train import TrainConfig, lr_problems


class LoopState:
    """What the recorder reads from a trainer, kept up to date by your loop through `step()`/`epoch()`."""

    def __init__(self, model, optimizer, recorder: Recorder, total_steps: int, steps_per_epoch: int):
        self.model, self.optimizer, self.recorder = model, optimizer, recorder
        self.total_steps, self.steps_per_epoch = total_steps, steps_per_epoch
        self.step = 0
        self.epoch_count = 0
        self.status, self.message = "running", ""

    def step_done(self, loss: float, acc: float = float("nan")) -> None:
        """Call after each `optimizer.step()` with the batch's loss (and accuracy if you have it)."""
        self.step += 1
        if not np.isfinite(loss):
            self.status = "diverged"
            self.message = f"The loss became {loss} at step {self.step}: try a smaller learning rate."
            return
        self.recorder.on_step_end(self, float(loss), float(acc))

    def epoch(self, **metrics) -> None:
        """Call at the end of each epoch with any metrics (train_loss, test_acc, ...)."""
        self.epoch_count += 1
        self.recorder.on_epoch_end(self, {"epoch": self.epoch_count, "step": self.step, **metrics})


def _check_loop(optimizer, total_steps, steps_per_epoch, train) -> None:
    """Refuse in words what would record a run that cannot be read back (the checks of `TrainConfig.validate`)."""
    problems = [
        f"{name} {value!r} must be a whole number of at least 1"
        for name, value in (("total_steps", total_steps), ("steps_per_epoch", steps_per_epoch))
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1
    ]
    problems += [p for group in optimizer.param_groups for p in lr_problems(group.get("lr"))][:1]
    if problems:
        raise ValueError("; ".join(problems))
    if train is not None:
        TrainConfig.from_dict(train)  # the settings kept in the manifest must read back as a TrainConfig


@contextmanager
def record_loop(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    folder: Path | str,
    x_eval: torch.Tensor,
    y_eval: torch.Tensor,
    class_names: list[str],
    *,
    total_steps: int,
    steps_per_epoch: int,
    record: RecordConfig = RecordConfig(),
    dataset: Dataset | None = None,
    data: DataConfig | None = None,
    points: list[str] | None = None,
    train: dict | None = None,
):
    """Record your own loop into a run folder (see the module docstring).

    Args:
        model, optimizer: yours.
        folder: the new run folder (must not exist or be empty).
        x_eval, y_eval: a fixed evaluation subset (prepared inputs, int64 labels), ideally class-balanced.
        class_names: one name per class.
        total_steps, steps_per_epoch: the loop's length, for the snapshot schedule.
        record: what to keep.
        dataset, data: the nnlab `Dataset` and its `DataConfig` if your data is one (so the app can
            show samples); leave out for other data.
        points: module names whose outputs are recorded for a non-nnlab model (default: every leaf).
        train: your training settings, kept in the manifest.
    Yields: an object with `step_done(loss, acc=nan)` and `epoch(**metrics)`.
    """
    _check_loop(optimizer, total_steps, steps_per_epoch, train)
    model_dict = (
        asdict(model.config)
        if getattr(getattr(model, "config", None), "kind", None) in model_kinds()
        else {"kind": "custom", "class": type(model).__name__, "repr": repr(model)[:4000]}
    )
    if dataset is not None:
        info = dataset.manifest()
        data_dict = (data or DataConfig(dataset.name)).to_dict()
    else:
        info = {"name": "custom", "class_names": list(class_names), "input_shape": list(x_eval.shape[1:])}
        data_dict = {"name": "custom", "options": {}, "train_subset": None, "subset_seed": 0}
    writer = RunWriter(
        folder, data=data_dict, model=model_dict, train=train or {}, record=record.to_dict(), dataset_info=info
    )
    writer.save_eval_set(np.arange(len(y_eval)), y_eval.cpu().numpy())
    recorder = Recorder(writer, x_eval, y_eval, len(class_names), record, points=points)
    state = LoopState(model, optimizer, recorder, total_steps, steps_per_epoch)
    recorder.on_train_start(state)
    try:
        yield state
    except BaseException as e:  # as the Trainer: Ctrl-C is "interrupted", any other error "failed"
        state.status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        state.message = explain_failure(e, state.step)  # in words: a full disk, an overflow, ...
        recorder.on_train_end(state)
        raise
    if state.status == "running":
        state.status = "complete"
    recorder.on_train_end(state)
