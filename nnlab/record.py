"""The recorder: a training callback that snapshots everything into a run folder.

Stage 3→4 of the pipeline. At evenly spaced steps (plus the initial state) it
keeps every weight, bias, gradient, optimizer state and buffer, and, over a fixed
class-balanced evaluation subset of the test split, per-class statistics of every
layer's raw and activated output, the predictions, and each unit's firing rate.
Every step it keeps the loss and accuracy; every epoch the trainer's metrics.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from .capture import Capture
from .data import balanced_indices
from .models import forward_points, model_kinds, task_of, unit_view
from .runs.store import RunWriter


@dataclass(frozen=True)
class RecordConfig:
    """What the recorder keeps."""

    snapshots: int = 50  # snapshots evenly spaced in steps, plus the initial state
    eval_size: int = 1000  # size of the class-balanced evaluation subset of the test split
    # dtype of gradients and optimizer state: bfloat16 keeps float32's exponent range, so no small
    # momentum value rounds to zero (float16 would zero a fifth), at half the disk; "float32" is exact.
    state_dtype: str = "bfloat16"

    def __post_init__(self):
        problems = [
            f"{name} {value!r} is outside 1..{high:,}: choose a whole number in that range"
            for name, value, high in (("snapshots", self.snapshots, 1000), ("eval_size", self.eval_size, 100_000))
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= high
        ]
        if self.state_dtype not in ("bfloat16", "float16", "float32"):
            problems.append(f"Unknown state_dtype {self.state_dtype!r}; choose 'bfloat16', 'float16' or 'float32'")
        if problems:
            raise ValueError("; ".join(problems))
        object.__setattr__(self, "snapshots", int(self.snapshots))
        object.__setattr__(self, "eval_size", int(self.eval_size))

    def to_dict(self) -> dict:
        return asdict(self)


def snapshot_steps(total_steps: int, n: int) -> list[int]:
    """Step numbers of the snapshots: 0 (initial) and `n` evenly spaced steps ending at `total_steps`."""
    n = max(1, min(n, total_steps))
    return sorted({0, *np.linspace(0, total_steps, n + 1).round().astype(int)[1:].tolist()})


def model_state(model: nn.Module, optimizer: torch.optim.Optimizer | None, state_dtype: torch.dtype):
    """Every parameter, gradient, optimizer-state tensor and buffer as CPU tensors keyed by role."""
    out = {}
    names = {id(p): n for n, p in model.named_parameters()}
    for name, p in model.named_parameters():
        out[f"param/{name}"] = p.detach().to("cpu", torch.float32, copy=True)
        if p.grad is not None:
            out[f"grad/{name}"] = p.grad.detach().to("cpu", state_dtype, copy=True)
    for name, b in model.named_buffers():
        out[f"buffer/{name}"] = b.detach().to("cpu", copy=True)
    if optimizer is not None:
        for p, st in optimizer.state.items():
            for key, value in st.items():
                if torch.is_tensor(value) and key != "step" and value.shape == p.shape:  # not Adam's step count
                    out[f"opt/{names[id(p)]}/{key}"] = value.detach().to("cpu", state_dtype, copy=True)
    return out


def guess_layout(output: torch.Tensor) -> str:
    """The layout of a module output of a model that declares none (your own module): 4-D batches are maps."""
    return "map" if output.ndim == 4 else "vector"


class ClassStats:
    """Accumulates per-class sums of every point's output over batches → mean, std, firing rate."""

    def __init__(self, n_classes: int):
        self.k = n_classes
        self.sums: dict[str, list[torch.Tensor]] = {}
        self.counts = torch.zeros(n_classes, dtype=torch.float64)

    def add(
        self, outputs: dict[str, torch.Tensor], y: torch.Tensor, fire_points: set[str], layouts: dict[str, str]
    ) -> None:
        onehot = torch.nn.functional.one_hot(y.cpu(), self.k).to(torch.float64).T  # (K, B)
        self.counts += onehot.sum(1)
        for name, o in outputs.items():
            o = o.detach()
            # (B, U): maps are reduced per channel (tokens to their class token) where they are, in float32,
            # before the float64 sums
            layout = layouts.get(name, "vector")
            units = unit_view(layout, o).to("cpu", torch.float64)
            parts = [onehot @ units, onehot @ units**2]
            if name in fire_points:
                fired = (o > 0).float()
                fired = unit_view(layout, fired)
                parts.append(fired.to("cpu", torch.float64).sum(0))  # (U,) per-unit firing count
            if name not in self.sums:
                self.sums[name] = parts
            else:
                self.sums[name] = [a + b for a, b in zip(self.sums[name], parts, strict=True)]

    def tensors(self) -> dict[str, torch.Tensor]:
        n = self.counts.clamp(min=1)[:, None]
        out = {}
        for name, parts in self.sums.items():
            mean = parts[0] / n
            out[f"mean/{name}"] = mean.float()  # (K, U)
            out[f"std/{name}"] = (parts[1] / n - mean**2).clamp(min=0).sqrt().float()
            if len(parts) == 3:
                out[f"fire/{name}"] = (parts[2] / self.counts.sum()).float()  # (U,) share of samples > 0
        return out


class Recorder:
    """Training callback that writes a run folder.

    Args:
        writer: the `RunWriter` of the run folder.
        x_eval, y_eval: the prepared evaluation subset and its labels.
        n_classes: number of classes.
        config: a `RecordConfig`.
        points: module names to record for a model that nnlab did not build (default: every leaf).
    """

    def __init__(
        self,
        writer: RunWriter,
        x_eval: torch.Tensor,
        y_eval: torch.Tensor,
        n_classes: int,
        config: RecordConfig = RecordConfig(),
        points: list[str] | None = None,
    ):
        self.writer, self.config, self.k = writer, config, n_classes
        self.x_eval, self.y_eval = x_eval, y_eval
        self.points = points
        self.state_dtype = getattr(torch, config.state_dtype)
        self.schedule: set[int] = set()
        self.losses: list[float] = []
        self.accs: list[float] = []
        self._last_snapshot = -1
        self.task = task_of(None)  # the model's task, from on_train_start: classification until then
        self.reference_size = 1000  # training samples whose codes give a probe its class means (an autoencoder's)

    # --- callback events -------------------------------------------------------------
    def on_train_start(self, trainer) -> None:
        self.task = task_of(trainer.model)
        self.schedule = set(snapshot_steps(trainer.total_steps, self.config.snapshots))
        self.writer.start(
            total_steps=trainer.total_steps,
            steps_per_epoch=trainer.steps_per_epoch,
            planned_snapshots=len(self.schedule),
        )
        self.snapshot(trainer)

    def on_step_end(self, trainer, loss: float, acc: float) -> None:
        self.losses.append(loss)
        self.accs.append(acc)
        if trainer.step in self.schedule:
            self.snapshot(trainer)

    def on_epoch_end(self, trainer, metrics: dict) -> None:
        self.writer.add_epoch(metrics)

    def on_train_end(self, trainer) -> None:
        if getattr(trainer, "stop_requested", trainer.status == "stopped") and self._last_snapshot != trainer.step:
            self.snapshot(trainer)
        if getattr(trainer, "did_not_learn", False):  # the trainer's learning check (nnlab.analysis.learning)
            self.writer.manifest["did_not_learn"] = True
        self.writer.finish(trainer.status, trainer.message, self._step_arrays())

    @property
    def snapshots_written(self) -> int:
        return len(self.writer.manifest["snapshots"])

    # --- the snapshot ----------------------------------------------------------------
    def _step_arrays(self) -> dict[str, np.ndarray]:
        return {"loss": np.asarray(self.losses, np.float32), self.task.metric: np.asarray(self.accs, np.float32)}

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, x_eval: torch.Tensor | None = None, y_eval: torch.Tensor | None = None
    ) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """Per-class statistics of every point and what the task keeps (`pred` for a classifier) over the
        evaluation subset (or over `x_eval`, `y_eval`)."""
        x_eval = self.x_eval if x_eval is None else x_eval
        y_eval = self.y_eval if y_eval is None else y_eval
        was = model.training
        model.eval()
        config = getattr(model, "config", None)
        declared = getattr(config, "kind", None) in model_kinds() and self.points is None
        if declared:
            points = model_kinds()[config.kind].declare(config)
            fire = {p.name for p in points if p.role == "activated"}
            layouts = {p.name: p.layout for p in points}
            make_extra = model_kinds()[config.kind].extra_stats  # the kind's own statistics, if any
        else:
            names = self.points or [n for n, m in model.named_modules() if n and not list(m.children())]
            fire, layouts, make_extra = set(names), {}, None
        stats, kept = ClassStats(self.k), []
        extra = make_extra(config, self.k) if make_extra is not None else None
        device = next(model.parameters()).device
        for i in range(0, len(y_eval), 256):
            xb, yb = x_eval[i : i + 256].to(device), y_eval[i : i + 256]
            if declared:
                outs = forward_points(model, xb)
            else:
                with Capture(model, names) as cap:
                    logits = model(xb)
                outs = {
                    n: o
                    for n, o in cap.outputs.items()  # the modules that ran and gave (B, ...) tensors
                    if torch.is_tensor(o) and o.ndim >= 2 and len(o) == len(xb)
                }
                outs["softmax"] = torch.softmax(logits, 1)
                layouts = {n: guess_layout(o) for n, o in outs.items()}
            stats.add(outs, yb, fire, layouts)
            if extra is not None:
                extra.add(outs, yb)
            kept.append(self.task.keep(outs, xb))
        model.train(was)
        tensors = {**stats.tensors(), **(extra.tensors() if extra is not None else {})}
        return tensors, {key: torch.cat([b[key] for b in kept]) for key in kept[0]}

    def _reference(self, trainer) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """What the task keeps of a fixed, class-balanced sample of the training split (the evaluation subset
        when the loop has no training tensors), and its labels: a probe's class means come from it."""
        x, y = getattr(trainer, "x_train", None), getattr(trainer, "y_train", None)
        if x is None or y is None:
            return self.evaluate(trainer.model)[1], self.y_eval.cpu()
        y = y.cpu()
        idx = torch.from_numpy(balanced_indices(y.numpy(), min(self.reference_size, len(y)), seed=0))
        return self.evaluate(trainer.model, x[idx.to(x.device)], y[idx])[1], y[idx]

    def snapshot(self, trainer) -> None:
        tensors = model_state(trainer.model, trainer.optimizer, self.state_dtype)
        stats, kept = self.evaluate(trainer.model)
        tensors.update(stats)
        y = self.y_eval.cpu()
        pred, extra = self.task.predictions(kept, y, self.k, lambda: self._reference(trainer))
        tensors.update(extra)  # an autoencoder's latent/ records
        tensors["pred"] = pred.to(torch.int32)
        confusion = torch.bincount(y * self.k + pred, minlength=self.k * self.k).reshape(self.k, self.k)
        tensors["confusion"] = confusion
        acc = float((pred == y).float().mean())
        info = {
            "step": trainer.step,
            "epoch": trainer.step / trainer.steps_per_epoch,
            "eval_acc": acc,
            "loss": self.losses[-1] if self.losses else None,
        }
        self.writer.add_snapshot(tensors, info, self._step_arrays())
        self._last_snapshot = trainer.step
