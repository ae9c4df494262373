"""A generic training loop over in-memory tensors that fires events to callbacks.

Stage 3 of the pipeline. Batches are index slices of tensors already in memory
(no per-sample Dataset), so an epoch costs what the model costs. Recording and
progress are callbacks (`nnlab.record.Recorder`, `ProgressBar`).
"""

from __future__ import annotations

import math
import numbers
import re
import threading
import time
from array import array
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .analysis.learning import check_learning
from .failures import explain_failure, write_error_log
from .models import task_of

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("constant", "cosine", "step")
LR_RANGE = (1e-7, 10.0)  # a base learning rate outside this never trains a network; 0 (frozen weights) is allowed too
MAX_BATCH_SIZE = 1 << 20
MAX_EPOCHS = 10_000
MAX_WEIGHT_DECAY = 1.0
MAX_SEED = 2**63 - 1
DEVICES = re.compile(r"auto|cpu|mps|cuda(:[0-9]{1,2})?")


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimizer, schedule, seed."""

    optimizer: str = "adam"  # "adam" or "sgd" (with momentum)
    lr: float = 3e-3  # learning rate
    momentum: float = 0.9  # SGD momentum (ignored by Adam)
    batch_size: int = 64
    epochs: int = 5
    weight_decay: float = 0.0  # L2 penalty added by the optimizer
    schedule: str = "constant"  # "constant", "cosine" (to 0 at the end) or "step" (÷10 at 50% and 75%)
    seed: int = 0  # seeds weight init, shuffling and dropout
    device: str = "auto"  # "auto" picks CUDA, then Apple MPS, then CPU

    def __post_init__(self):
        self.validate()

    def validate(self) -> TrainConfig:
        """Raise a ValueError naming every field that is out of range, with its value and the range; else self.

        A frozen config is checked once, when it is made (the Train page, the command line, a lesson, `from_dict`
        for a saved manifest), and then travels as this object: nothing downstream checks it again.
        """
        problems = []
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"Unknown optimizer {self.optimizer!r}; choose 'adam' or 'sgd'")
        if self.schedule not in SCHEDULES:
            problems.append(f"Unknown schedule {self.schedule!r}; choose 'constant', 'cosine' or 'step'")
        problems += lr_problems(self.lr)
        problems += _whole("batch_size", self.batch_size, 1, MAX_BATCH_SIZE)
        problems += _whole("epochs", self.epochs, 1, MAX_EPOCHS)
        problems += _whole("seed", self.seed, 0, MAX_SEED)
        momentum = _real(self.momentum)
        if momentum is None or not 0 <= momentum < 1:
            problems.append(f"momentum {self.momentum!r} is outside [0, 1): 0.9 is the usual value")
        decay = _real(self.weight_decay)
        if decay is None or not 0 <= decay <= MAX_WEIGHT_DECAY:
            problems.append(f"weight_decay {self.weight_decay!r} is outside 0..{MAX_WEIGHT_DECAY:g}: try 0 or 1e-4")
        if not isinstance(self.device, str) or not DEVICES.fullmatch(self.device):
            problems.append(f"Unknown device {self.device!r}; choose 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
        if problems:
            raise ValueError("; ".join(problems))
        for name, kind in (("lr", float), ("momentum", float), ("weight_decay", float), ("batch_size", int)):
            object.__setattr__(self, name, kind(getattr(self, name)))  # numpy scalars become plain (JSON) numbers
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "seed", int(self.seed))
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """The config saved by `to_dict` (unknown keys are ignored, missing ones take their defaults), validated."""
        if not isinstance(d, dict):
            raise ValueError(f"A training config must be a mapping of settings, not {type(d).__name__}")
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def lr_problems(lr) -> list[str]:
    """[] for a finite learning rate in `LR_RANGE` (or 0: frozen weights), else the problem with the range."""
    low, high = LR_RANGE
    value = _real(lr)
    if value is None or not (value == 0 or low <= value <= high):
        return [
            f"learning rate {lr!r} is outside {low:g}..{high:g}: choose a finite value in that range "
            "(Adam usually learns at 1e-4..1e-2, SGD at 1e-3..0.3)"
        ]
    return []


def _real(value) -> float | None:
    """`value` as a finite float, or None if it is not a finite real number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _whole(name: str, value, low: int, high: int) -> list[str]:
    """[] if `value` is a whole number in low..high, else the problem in words."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
        return [f"{name} {value!r} is outside {low}..{high:,}: choose a whole number in that range"]
    return []


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        device = torch.device(name)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: this machine has no CUDA GPU torch can use; choose 'auto' or 'cpu'")
        if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise ValueError(f"device {name!r}: this machine has no Apple MPS device; choose 'auto' or 'cpu'")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"Unknown optimizer {cfg.optimizer!r}; choose 'adam' or 'sgd'")


def lr_factor(schedule: str, step: int, total: int) -> float:
    """Multiplier on the base learning rate at `step` of `total`."""
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * step / max(total, 1)))
    if schedule == "step":
        return 0.1 ** ((step >= total * 0.5) + (step >= total * 0.75))
    return 1.0


class Callback:
    """Override any of these; each receives the trainer, which exposes model, optimizer, step, epoch."""

    def on_train_start(self, trainer: Trainer) -> None: ...
    def on_step_end(self, trainer: Trainer, loss: float, acc: float) -> None: ...
    def on_epoch_end(self, trainer: Trainer, metrics: dict) -> None: ...
    def on_train_end(self, trainer: Trainer) -> None: ...


class Trainer:
    """Train `model` on `(x_train, y_train)` and evaluate on `(x_test, y_test)` each epoch.

    Args:
        model: any classifier returning logits `(N, K)`.
        config: a `TrainConfig`.
        x_train, y_train, x_test, y_test: prepared float tensors and int64 labels.
        callbacks: objects with the `Callback` methods.
    After `fit()`: `status` is "complete", "stopped" (by `stop()`) or "diverged" (NaN/Inf loss); "failed"
    ("interrupted" for Ctrl-C) when an exception ended it, which is re-raised, with `message` in words and
    the traceback appended to `error_log` (if set). A complete run that did not learn (chance accuracy, or
    a loss that ended above its start) has `did_not_learn` True and advice in `message`.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, x_train, y_train, x_test=None, y_test=None, callbacks=()):
        self.config = config
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        self.x_train, self.y_train = x_train.to(self.device), y_train.to(self.device)
        self.x_test = x_test.to(self.device) if x_test is not None else None
        self.y_test = y_test.to(self.device) if y_test is not None else None
        self.optimizer = make_optimizer(self.model, config)
        self.task = task_of(model)  # the loss and the metric (`nnlab.tasks`): the model kind's, not the trainer's
        self.callbacks = list(callbacks)
        self.steps_per_epoch = math.ceil(len(self.y_train) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # epochs completed
        self.status = "created"
        self.message = ""
        self.history: list[dict] = []  # one dict per epoch
        self.step_losses = array("f")  # (step,) the loss of every step, for the learning check at the end
        self.n_classes = 0  # the width of the logits, once seen
        self.did_not_learn = False
        self.error_log: Path | None = None  # where fit() appends the traceback of an exception that ends it
        self._stop = threading.Event()
        self._stop_as = ("stopped", "")  # the status and message a stop ends the run with

    def stop(self, status: str = "stopped", message: str = "") -> None:
        """Ask the loop to end after the current step (thread-safe); what was recorded is kept. The run ends with
        `status` and `message` ("interrupted" and why, when a server restart stops it)."""
        self._stop_as = (status, message)
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def _fire(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event, lambda *a: None)(self, *args)

    @torch.no_grad()
    def evaluate(self, x, y, batch_size: int = 1024) -> tuple[float, float]:
        """Mean loss and metric (the task's: accuracy for a classifier) over `(x, y)` in eval mode."""
        was = self.model.training
        self.model.eval()
        loss, correct = 0.0, 0
        for i in range(0, len(y), batch_size):
            xb, yb = x[i : i + batch_size], y[i : i + batch_size]
            out = self.model(xb)
            loss += self.task.loss(out, xb, yb, self.model).item() * len(out)
            correct += self.task.score(out, xb, yb)
        self.model.train(was)
        return loss / max(len(y), 1), correct / max(len(y), 1)

    def fit(self) -> Trainer:
        """Train. An error (in the model or a callback) ends it as "failed", Ctrl-C as "interrupted"; both propagate."""
        self.status = "running"
        self.model.train()
        try:
            self._fire("on_train_start")
            self._loop()
        except BaseException as e:
            self.status = "failed" if isinstance(e, Exception) else "interrupted"
            self.message = explain_failure(e, self.step, self.config.lr)
            if isinstance(e, Exception) and self.error_log is not None:
                if write_error_log(self.error_log, e, f"training failed at step {self.step}"):
                    self.message += f" The traceback is in {Path(self.error_log).name}."
            try:
                self._fire("on_train_end")  # the recorder writes the status; its snapshots stay readable
            except Exception:
                pass  # keep the first error
            raise
        if self.status == "running":
            self.status = "complete"
            self._check_learning()
        self._fire("on_train_end")
        return self

    def _check_learning(self) -> None:
        """Mark a complete run that did not learn, with advice in `message` (`nnlab.analysis.learning`)."""
        last = self.history[-1] if self.history else {}
        acc = last.get("test_acc", last.get("train_acc"))
        cfg = self.config
        check = check_learning(np.asarray(self.step_losses), acc, self.n_classes, lr=cfg.lr, optimizer=cfg.optimizer)
        self.did_not_learn = not check.learned
        if self.did_not_learn:
            self.message = check.advice

    def _loop(self) -> None:
        cfg = self.config
        gen = torch.Generator().manual_seed(cfg.seed)
        start = time.perf_counter()
        for epoch in range(cfg.epochs):
            perm = torch.randperm(len(self.y_train), generator=gen).to(self.device)
            run_loss, run_correct, seen = 0.0, 0, 0
            for i in range(0, len(perm), cfg.batch_size):
                idx = perm[i : i + cfg.batch_size]
                xb, yb = self.x_train[idx], self.y_train[idx]
                for group in self.optimizer.param_groups:
                    group["lr"] = cfg.lr * lr_factor(cfg.schedule, self.step, self.total_steps)
                self.optimizer.zero_grad(set_to_none=True)
                logits = self.model(xb)
                loss = self.task.loss(logits, xb, yb, self.model)
                loss_value = loss.item()
                if not math.isfinite(loss_value):
                    self.status = "diverged"
                    self.message = (
                        f"The loss became {loss_value} at step {self.step + 1} (epoch {epoch + 1}). "
                        f"The learning rate {cfg.lr:g} is probably too large for this network: "
                        "try a value 3–10× smaller, or batch norm"
                        + (", or Adam instead of SGD." if cfg.optimizer == "sgd" else ".")
                    )
                    break
                loss.backward()
                self.optimizer.step()
                self.step += 1
                self.step_losses.append(loss_value)
                self.n_classes = logits.shape[1]
                correct = self.task.score(logits, xb, yb)
                run_loss += loss_value * len(yb)
                run_correct += correct
                seen += len(yb)
                self._fire("on_step_end", loss_value, correct / len(yb))
                if self._stop.is_set():
                    self.status, self.message = self._stop_as
                    break
            if self.status == "diverged" or seen < len(perm):
                break  # an epoch cut short has no epoch metrics
            metrics = {
                "epoch": epoch + 1,
                "step": self.step,
                "train_loss": run_loss / max(seen, 1),
                f"train_{self.task.metric}": run_correct / max(seen, 1),
                "time": time.perf_counter() - start,
            }
            if self.x_test is not None:
                metrics["test_loss"], metrics[f"test_{self.task.metric}"] = self.evaluate(self.x_test, self.y_test)
            self.epoch = epoch + 1
            self.history.append(metrics)
            self._fire("on_epoch_end", metrics)
            if self.status != "running":
                break  # stopped on the epoch's last step
