"""A generic training loop over in-memory tensors that fires events to callbacks.

Stage 3 of the pipeline. Batches are index slices of tensors already in memory
(no per-sample Dataset), so an epoch costs what the model costs. Recording and
progress are callbacks (`nnlab.record.Recorder`, `ProgressBar`).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict, dataclass

import torch
from torch import nn


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
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"Unknown optimizer {self.optimizer!r}; choose 'adam' or 'sgd'")
        if self.schedule not in ("constant", "cosine", "step"):
            raise ValueError(f"Unknown schedule {self.schedule!r}; choose 'constant', 'cosine' or 'step'")
        if not (self.lr >= 0 and self.batch_size >= 1 and self.epochs >= 0 and self.weight_decay >= 0):
            raise ValueError(
                f"Need lr >= 0, batch_size >= 1, epochs >= 0, weight_decay >= 0; got lr={self.lr}, "
                f"batch_size={self.batch_size}, epochs={self.epochs}, weight_decay={self.weight_decay}"
            )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
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
    ("interrupted" for Ctrl-C) when an exception ended it, which is re-raised.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, x_train, y_train, x_test=None, y_test=None, callbacks=()):
        self.config = config
        self.device = pick_device(config.device)
        self.model = model.to(self.device)
        self.x_train, self.y_train = x_train.to(self.device), y_train.to(self.device)
        self.x_test = x_test.to(self.device) if x_test is not None else None
        self.y_test = y_test.to(self.device) if y_test is not None else None
        self.optimizer = make_optimizer(self.model, config)
        self.loss_fn = nn.CrossEntropyLoss()
        self.callbacks = list(callbacks)
        self.steps_per_epoch = math.ceil(len(self.y_train) / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.step = 0  # optimizer steps taken
        self.epoch = 0  # epochs completed
        self.status = "created"
        self.message = ""
        self.history: list[dict] = []  # one dict per epoch
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to end after the current step (thread-safe); what was recorded is kept."""
        self._stop.set()

    def _fire(self, event: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, event, lambda *a: None)(self, *args)

    @torch.no_grad()
    def evaluate(self, x, y, batch_size: int = 1024) -> tuple[float, float]:
        """Mean loss and accuracy over `(x, y)` in eval mode."""
        was = self.model.training
        self.model.eval()
        loss, correct = 0.0, 0
        for i in range(0, len(y), batch_size):
            logits = self.model(x[i : i + batch_size])
            loss += self.loss_fn(logits, y[i : i + batch_size]).item() * len(logits)
            correct += (logits.argmax(1) == y[i : i + batch_size]).sum().item()
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
            self.message = f"Training ended at step {self.step} by {type(e).__name__}: {e}"
            try:
                self._fire("on_train_end")  # the recorder writes the status; its snapshots stay readable
            except Exception:
                pass  # keep the first error
            raise
        if self.status == "running":
            self.status = "complete"
        self._fire("on_train_end")
        return self

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
                loss = self.loss_fn(logits, yb)
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
                correct = (logits.argmax(1) == yb).sum().item()
                run_loss += loss_value * len(yb)
                run_correct += correct
                seen += len(yb)
                self._fire("on_step_end", loss_value, correct / len(yb))
                if self._stop.is_set():
                    self.status = "stopped"
                    break
            if self.status == "diverged" or seen < len(perm):
                break  # an epoch cut short has no epoch metrics
            metrics = {
                "epoch": epoch + 1,
                "step": self.step,
                "train_loss": run_loss / max(seen, 1),
                "train_acc": run_correct / max(seen, 1),
                "time": time.perf_counter() - start,
            }
            if self.x_test is not None:
                metrics["test_loss"], metrics["test_acc"] = self.evaluate(self.x_test, self.y_test)
            self.epoch = epoch + 1
            self.history.append(metrics)
            self._fire("on_epoch_end", metrics)
            if self.status != "running":
                break  # stopped on the epoch's last step
