"""Ablation: switch units of a layer off (to zero, or to their mean over the evaluation subset) and see what the
network loses: accuracy, each class's accuracy and the confusion matrix; and each unit alone, ranked.

A sequential network (every nnlab `Net`) runs the layers up to the point once per batch, then the layers after it
twice, intact and with the units off, so both answers come from the same arithmetic (a unit that reaches nothing
changes nothing, exactly). Given the point's whole output (`start`: a vector point's `UnitTable.values`, already
computed for its top examples), only the layers after it run: switching a dense layer's units off costs the layers
after it, not the convolutions before. Any other network gets a forward hook on a copy. The model is never changed.
"""

from __future__ import annotations

import contextlib
import copy
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models import Point
from .units import (
    BATCH,
    UnitTable,
    batch_sum,
    eval_inputs,
    fast,
    find_point,
    point_batches,
    point_output,
    run_layers,
    split_at,
    unit_values,
)

MODES = {"zero": "set to zero", "mean": "set to their mean over the evaluation subset"}


def _ablate(layout: str, units: Sequence[int], fill: torch.Tensor | None, out: torch.Tensor) -> torch.Tensor:
    """A copy of a batch of a point's outputs with `units` off: zero, or `fill` (their mean output, `(1, ...)`)."""
    idx = torch.as_tensor(list(units), dtype=torch.long)
    out = out.clone()
    view = out.transpose(1, -1) if layout == "tokens" else out  # a token's units are its last axis
    view[:, idx] = 0 if fill is None else (fill.transpose(1, -1) if layout == "tokens" else fill)[:, idx]
    return out


def _check(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"Unknown ablation {mode!r}; choose one of {', '.join(MODES)}")


@torch.inference_mode()
def mean_output(model: nn.Module, x: torch.Tensor, point: Point) -> torch.Tensor:
    """The point's mean output over `x`: `(1, ...)`."""
    total = sum(batch_sum(h.float()) for h in point_batches(model, x, point.module))
    return (total / len(x)).unsqueeze(0).contiguous()


def _fill(model, x, point: Point, mode: str, mean) -> torch.Tensor | None:
    _check(mode)
    if mode == "zero":
        return None
    return mean_output(model, x, point) if mean is None else torch.as_tensor(np.asarray(mean))


@torch.inference_mode()
def predictions(model: nn.Module, x: torch.Tensor, *, batch: int = BATCH) -> np.ndarray:
    """The predicted class of each prepared input (model in eval mode)."""
    model.eval()
    return torch.cat([model(fast(x[i : i + batch])).argmax(1) for i in range(0, len(x), batch)]).numpy()


def _rest(rest, h: torch.Tensor, layout: str, units: Sequence[int], fill, batch: int) -> np.ndarray:
    """Predictions from a point's whole output `h` through the layers after it, `units` off (none: intact)."""
    out = []
    for i in range(0, len(h), batch):
        part = h[i : i + batch]
        out.append(run_layers(rest, _ablate(layout, units, fill, part) if len(units) else part).argmax(1))
    return torch.cat(out).numpy()


def _hooked(model: nn.Module, point: Point, units: Sequence[int], fill) -> nn.Module:
    net = copy.deepcopy(model).eval()
    net.get_submodule(point.module).register_forward_hook(lambda m, i, out: _ablate(point.layout, units, fill, out))
    return net


@torch.inference_mode()
def prediction_pair(
    model, x, point: Point, units: Sequence[int], fill=None, *, start=None, intact=None, batch: int = BATCH
) -> tuple[np.ndarray, np.ndarray]:
    """(intact, ablated) predictions on prepared inputs `x`, `units` of `point` set to zero (`fill` None) or to
    `fill`. `start`: the point's whole output for `x`, when known (a sequential network then runs only the rest);
    `intact`: the intact predictions, when known from the same arithmetic (`UnitTable.pred`), not computed again."""
    model.eval()
    split, skip = split_at(model, point.module), intact is not None
    if split is None:
        before = np.asarray(intact) if skip else predictions(model, x, batch=batch)
        return before, predictions(_hooked(model, point, units, fill), x, batch=batch) if len(units) else before
    upto, rest = split
    if start is not None:
        h = torch.as_tensor(np.asarray(start))
        before = np.asarray(intact) if skip else _rest(rest, h, point.layout, [], fill, batch)
        return before, _rest(rest, h, point.layout, units, fill, batch) if len(units) else before
    if skip and not len(units):
        return np.asarray(intact), np.asarray(intact)
    before, after = [], []
    for i in range(0, len(x), batch):
        h = run_layers(upto, fast(x[i : i + batch]))
        before.append(None if skip else _rest(rest, h, point.layout, [], fill, batch))
        after.append(_rest(rest, h, point.layout, units, fill, batch) if len(units) else before[-1])
    return (np.asarray(intact) if skip else np.concatenate(before)), np.concatenate(after)


def ablated_predictions(
    model: nn.Module, x: torch.Tensor, point: Point, units: Sequence[int], mode: str = "zero", mean=None, *, start=None
) -> np.ndarray:
    """Predictions with `units` of `point` switched off (`mode` "zero" or "mean"; `mean`: the point's mean output
    over `x`, `(1, ...)`, computed when not given). `model` itself is left as it was."""
    return prediction_pair(model, x, point, units, _fill(model, x, point, mode, mean), start=start)[1]


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts (true class, predicted class): `(K, K)`."""
    return np.bincount(np.asarray(y) * n_classes + np.asarray(pred), minlength=n_classes**2).reshape(n_classes, -1)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Each true class's share of correct predictions (NaN for a class without samples)."""
    totals = matrix.sum(1)
    return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


@dataclass(frozen=True)
class AblationInfo:
    """What switching some units off does to the network's answers on the evaluation subset."""

    point: str
    units: list[int]
    mode: str  # a key of MODES
    accuracy: float  # intact
    ablated_accuracy: float
    per_class: np.ndarray  # (K,) intact accuracy per true class
    ablated_per_class: np.ndarray
    confusion: np.ndarray  # (K, K) intact counts (true, predicted)
    ablated_confusion: np.ndarray
    changed: int  # evaluation samples whose predicted class changed

    @property
    def cost(self) -> float:
        """Accuracy lost (negative: gained), as a share."""
        return self.accuracy - self.ablated_accuracy


def ablation_info(
    model, x, y, point: Point, units: Sequence[int], n_classes: int, mode="zero", *, mean=None, start=None, intact=None
) -> AblationInfo:
    """The network with `units` of `point` switched off against the intact one, on prepared inputs `x` with labels
    `y` (`mean`, `start`, `intact`: the point's mean and whole output over `x` and the network's predictions, when
    known; see `prediction_pair`)."""
    y = np.asarray(y)
    fill = _fill(model, x, point, mode, mean) if len(units) else None
    before, after = prediction_pair(model, x, point, units, fill, start=start, intact=intact)
    cb, ca = confusion(y, before, n_classes), confusion(y, after, n_classes)
    return AblationInfo(
        point.name,
        sorted(int(u) for u in units),
        mode,
        float(np.mean(before == y)),
        float(np.mean(after == y)),
        per_class_accuracy(cb),
        per_class_accuracy(ca),
        cb,
        ca,
        int(np.sum(before != after)),
    )


@torch.inference_mode()
def ablation_ranking(
    model: nn.Module,
    x: torch.Tensor,
    y: np.ndarray,
    point: Point,
    mode: str = "zero",
    *,
    progress: Callable[[float, str], None] | None = None,
    table: UnitTable | None = None,
) -> np.ndarray:
    """Accuracy lost when each unit of `point` alone is switched off, `(U,)` (as shares; negative: gained).

    The point's output is computed once (or taken from `table`, a vector point's); each unit's ablation then reruns
    only the layers after it (a sequential network) or the whole network with a hook (any other)."""
    _check(mode)
    y = np.asarray(y)
    model.eval()
    whole = table is not None and table.whole
    h = torch.from_numpy(table.values) if whole else point_output(model, x, point.module)  # (N, ...)
    fill = None
    if mode == "mean":
        fill = torch.from_numpy(table.mean) if table is not None and table.mean is not None else _mean_of(h)
    split = split_at(model, point.module)
    n_units = unit_values(point.layout, h[:1])[0].shape[1]
    if table is not None and table.pred is not None:
        base = float(np.mean(table.pred == y))
    elif split is None:
        base = float(np.mean(predictions(model, x) == y))
    else:
        base = float(np.mean(_rest(split[1], h, point.layout, [], fill, BATCH) == y))
    costs = np.zeros(n_units, np.float32)
    for u in range(n_units):
        if split is None:
            after = predictions(_hooked(model, point, [u], fill), x)
        else:
            after = _rest(split[1], h, point.layout, [u], fill, BATCH)
        costs[u] = base - float(np.mean(after == y))
        if progress and (u % 8 == 7 or u == n_units - 1):
            progress((u + 1) / n_units, f"unit {u + 1} of {n_units}")
    return costs


def _mean_of(h: torch.Tensor) -> torch.Tensor:
    return (batch_sum(h.float()) / len(h)).unsqueeze(0).contiguous()


def ranking_words(costs: np.ndarray, per_unit: str = "unit", *, top: int = 3) -> str:
    """Which units the network cannot do without, in words."""
    if len(costs) == 0:
        return f"This layer has no {per_unit}s."
    order = np.argsort(-costs, kind="stable")
    worst = [int(u) for u in order[:top] if costs[u] > 0]
    minor = int(np.sum(costs < 0.001))
    if not worst:
        return (
            f"No single {per_unit} matters on its own: switching any one off costs less than 0.1 points of accuracy. "
            "The layer spreads what it knows over many of them."
        )
    named = ", ".join(f"{per_unit} {u} ({100 * costs[u]:.1f} points)" for u in worst)
    return (
        f"The network can least do without {named}: switching that one alone off costs that much accuracy. "
        f"{minor} of {len(costs)} {per_unit}s cost less than 0.1 points each."
    )


# --- the page's records: a Run at one snapshot ------------------------------------------------------------------
def run_ablation_info(run, k: int, dataset, point: str, units: Sequence[int], mode: str = "zero", *, table=None):
    """Snapshot `k` of a `Run`: `units` of `point` switched off on its evaluation subset, against the intact network.
    `table`: the point's `UnitTable` at this snapshot, when known (its mean, the network's answers and a vector point's
    whole output)."""
    x, _, labels = eval_inputs(run, dataset)
    start = table.values if table is not None and table.whole else None
    mean, intact = (None, None) if table is None else (table.mean, table.pred)
    p, model = find_point(run, point), run.model_at(k)
    return ablation_info(model, x, labels, p, units, dataset.n_classes, mode, mean=mean, start=start, intact=intact)


def run_ablation_ranking(
    run, k: int, dataset, point: str, mode: str = "zero", *, progress=None, table=None, background: bool = False
):
    """Snapshot `k` of a `Run`: the accuracy each unit of `point` alone costs on the evaluation subset.
    `background`: called on a thread of its own while pages are served; it then runs on one core at low priority
    (see `gentle`), so the page that started it stays quick."""
    x, _, labels = eval_inputs(run, dataset)
    p = find_point(run, point)
    with gentle(background):
        return ablation_ranking(run.model_at(k), x, labels, p, mode, progress=progress, table=table)


@contextlib.contextmanager
def gentle(on: bool = True):
    """On a background thread: torch's ops on one thread and, on Linux, this thread at the lowest priority (`nice`
    19, for this thread only: it ends with the task), so the pages served meanwhile keep both cores. Torch's thread
    count is the process's, not the thread's: the app's process already uses one (`appkit.caches`); anywhere else
    it is one while the task runs and put back after. Nothing changes when called on the main thread."""
    if not on or threading.current_thread() is threading.main_thread():
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with contextlib.suppress(AttributeError, OSError):  # no per-thread priority outside Linux
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
