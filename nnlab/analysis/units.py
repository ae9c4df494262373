"""Units: what each unit (a dense layer's unit, a conv layer's channel) responds to, and what breaks without it.

Stage: run (one snapshot's weights, replayed over the evaluation subset) → analysis → `nnlab.figures.units`.
`unit_table` is one forward pass: every unit's value for every evaluation sample (a channel's value is its strongest
position, kept too, so the input patch it sees can be cut out). From it: the top examples and the activation
density of one unit. `ablation_info` switches units off (to zero, or to their mean) with a forward hook on a copy
of the network and compares predictions with the intact one; `ablation_ranking` does it for each unit alone.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..capture import Capture
from ..models import Point

UNIT_LAYOUTS = ("vector", "map", "code", "tokens")  # a tokens point's units: its embedding's dimensions (class token)
NOT_UNITS = ("logits", "probs", "reconstruction", "attention")  # the output and what is not made of units
MODES = {"zero": "set to zero", "mean": "set to their mean over the evaluation subset"}


def unit_points(points: Sequence[Point]) -> list[Point]:
    """The points whose units the Units page looks at: hidden layers with one value (or map) per unit."""
    return [p for p in points if p.module and p.layout in UNIT_LAYOUTS and p.role not in NOT_UNITS]


def _units(layout: str, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch of a point's outputs → each unit's value `(B, U)` and, for maps, its strongest position `(B, U)`."""
    if layout == "map":
        flat = out.flatten(2)  # (B, C, H·W)
        values, where = flat.max(2)
        return values, where
    if layout == "tokens":
        return out[:, 0], None  # the class token, the one the head reads
    return out.flatten(1), None


@torch.no_grad()
def point_output(model: nn.Module, x: torch.Tensor, module: str, *, batch: int = 1024) -> torch.Tensor:
    """The output of `module` for prepared inputs `x`, in batches: `(N, ...)`. A child of a sequential network runs
    only the layers up to it; any other module is captured on a full pass."""
    model.eval()
    names = [n for n, _ in model.named_children()] if isinstance(model, nn.Sequential) else []
    prefix = list(model.children())[: names.index(module) + 1] if module in names else None
    outs = []
    for i in range(0, len(x), batch):
        h = x[i : i + batch]
        if prefix is not None:
            for m in prefix:
                h = m(h)
            outs.append(h)
            continue
        with Capture(model, [module], copy=False) as cap:
            model(h)
        outs.append(cap[module])
    return torch.cat(outs)


@dataclass(frozen=True)
class UnitTable:
    """Every unit's value for every evaluation sample at one snapshot."""

    point: str
    layout: str
    values: np.ndarray  # (N, U) float32: a unit's output (a channel's: its strongest position)
    where: np.ndarray | None  # (N, U): a channel's strongest position as row · W + column; None for other layouts
    map_shape: tuple[int, int] | None  # (h, w) of a channel's map
    indices: np.ndarray  # (N,) indices into the test split
    labels: np.ndarray  # (N,)
    signed: bool  # the values can be negative (show the lowest too)

    @property
    def n_units(self) -> int:
        return self.values.shape[1]


def unit_table(model: nn.Module, x: torch.Tensor, point: Point, indices: np.ndarray, labels: np.ndarray) -> UnitTable:
    """One forward pass of the evaluation subset `x` (test indices `indices`): the table of `point`'s units."""
    out = point_output(model, x, point.module)
    values, where = _units(point.layout, out)
    values = values.float().numpy()
    return UnitTable(
        point.name,
        point.layout,
        values,
        None if where is None else where.numpy(),
        tuple(out.shape[2:]) if point.layout == "map" else None,
        np.asarray(indices),
        np.asarray(labels),
        bool((values < 0).any()),
    )


def top_examples(values: np.ndarray, n: int = 9, *, lowest: bool = False) -> np.ndarray:
    """Rows of `values` (N,) with the `n` highest values, highest first (`lowest`: the `n` lowest, lowest first);
    ties go to the earlier row."""
    v = -values if not lowest else values
    return np.argsort(v, kind="stable")[: min(n, len(values))]


def receptive_field(model: nn.Module, module: str) -> tuple[int, int, float]:
    """(size, jump, centre of the first position) of one position of `module`'s maps on the input, in pixels, from
    the convolutions and pools before it (torch's own attributes: any network of Conv2d / MaxPool2d / AvgPool2d)."""
    size, jump, start = 1, 1, 0.0
    for name, m in model.named_modules():
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k, s, p, d = (_pair(getattr(m, a, 1)) for a in ("kernel_size", "stride", "padding", "dilation"))
            k_eff = d * (k - 1) + 1
            start += ((k_eff - 1) / 2 - p) * jump
            size += (k_eff - 1) * jump
            jump *= s
        if name == module:
            break
    return size, jump, start


def _pair(v) -> int:
    return int(v[0] if isinstance(v, tuple) else v)


def patch_box(field: tuple[int, int, float], position: int, map_w: int, image_hw: tuple[int, int]) -> tuple[int, ...]:
    """The input rows and columns `(r0, r1, c0, c1)` (end exclusive, clipped to the image) that one map position
    (row · map_w + column) sees."""
    size, jump, start = field
    row, col = divmod(int(position), map_w)
    half = (size - 1) / 2
    h, w = image_hw
    cy, cx = start + row * jump, start + col * jump
    r0, r1 = int(np.clip(np.floor(cy - half), 0, h)), int(np.clip(np.floor(cy + half) + 1, 0, h))
    c0, c1 = int(np.clip(np.floor(cx - half), 0, w)), int(np.clip(np.floor(cx + half) + 1, 0, w))
    return r0, r1, c0, c1


@dataclass(frozen=True)
class UnitInfo:
    """One unit at one snapshot: its top examples and how often it fires."""

    point: str
    unit: int
    high: np.ndarray  # test indices of the samples that drive it highest, highest first
    high_values: np.ndarray
    low: np.ndarray  # the lowest, lowest first (empty unless the point's values can be negative)
    low_values: np.ndarray
    high_boxes: np.ndarray | None  # (n, 4) input rows/columns each top example's strongest position sees (maps)
    low_boxes: np.ndarray | None
    values: np.ndarray  # (N,) the unit over the evaluation subset
    zero_share: float  # share of evaluation samples where it is exactly zero (a channel: zero everywhere)
    dead: bool  # zero for every evaluation sample


def unit_info(table: UnitTable, unit: int, n: int = 9, *, field=None, image_hw=None) -> UnitInfo:
    """Unit `unit` of `table`: its `n` top (and, when signed, bottom) examples, and its density. `field` (from
    `receptive_field`) and `image_hw` give each example's input patch, for maps."""
    if not 0 <= unit < table.n_units:
        raise IndexError(f"{table.point} has {table.n_units} units; there is no unit {unit}")
    v = table.values[:, unit]
    rows_hi = top_examples(v, n)
    rows_lo = top_examples(v, n, lowest=True) if table.signed else np.zeros(0, np.int64)

    def boxes(rows):
        if table.where is None or field is None or image_hw is None:
            return None
        found = [patch_box(field, table.where[r, unit], table.map_shape[1], image_hw) for r in rows]
        return np.array(found, dtype=np.int64).reshape(-1, 4)

    zero = float(np.mean(v == 0)) if len(v) else 0.0
    return UnitInfo(
        table.point,
        int(unit),
        table.indices[rows_hi],
        v[rows_hi],
        table.indices[rows_lo],
        v[rows_lo],
        boxes(rows_hi),
        boxes(rows_lo),
        v,
        zero,
        bool(len(v) and zero == 1.0),
    )


def dead_units(table: UnitTable) -> np.ndarray:
    """The units that are zero for every evaluation sample."""
    return np.flatnonzero((table.values == 0).all(axis=0))


# --- ablation ------------------------------------------------------------------------------------------------------
def _ablate_hook(layout: str, units: Sequence[int], fill: torch.Tensor | None):
    """A forward hook that switches `units` of a point off: to zero, or to `fill` (their mean output, `(1, ...)`)."""
    idx = torch.as_tensor(list(units), dtype=torch.long)

    def hook(module, inputs, out):
        out = out.clone()
        view = out.transpose(1, -1) if layout == "tokens" else out  # a token's units are its last axis
        view[:, idx] = 0 if fill is None else (fill.transpose(1, -1) if layout == "tokens" else fill)[:, idx]
        return out

    return hook


@torch.no_grad()
def predictions(model: nn.Module, x: torch.Tensor, *, batch: int = 2048) -> np.ndarray:
    """The predicted class of each prepared input (model in eval mode)."""
    model.eval()
    return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)]).numpy()


def ablated_predictions(
    model: nn.Module, x: torch.Tensor, point: Point, units: Sequence[int], mode: str = "zero", mean=None
) -> np.ndarray:
    """Predictions with `units` of `point` switched off (`mode` "zero" or "mean"; `mean`: the point's mean output
    over `x`, `(1, ...)`, computed when not given). `model` itself is left as it was."""
    if mode not in MODES:
        raise ValueError(f"Unknown ablation {mode!r}; choose one of {', '.join(MODES)}")
    if mode == "mean" and mean is None:
        mean = point_output(model, x, point.module).mean(0, keepdim=True)
    net = copy.deepcopy(model)
    net.get_submodule(point.module).register_forward_hook(_ablate_hook(point.layout, units, mean))
    return predictions(net, x)


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
    model, x, y, point: Point, units: Sequence[int], n_classes: int, mode: str = "zero", *, intact=None, mean=None
) -> AblationInfo:
    """The network with `units` of `point` switched off against the intact one (`intact`: its predictions, if
    known), on prepared inputs `x` with labels `y`."""
    y = np.asarray(y)
    before = predictions(model, x) if intact is None else np.asarray(intact)
    after = ablated_predictions(model, x, point, units, mode, mean) if len(units) else before
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


@torch.no_grad()
def ablation_ranking(
    model: nn.Module,
    x: torch.Tensor,
    y: np.ndarray,
    point: Point,
    mode: str = "zero",
    *,
    progress: Callable[[float, str], None] | None = None,
) -> np.ndarray:
    """Accuracy lost when each unit of `point` alone is switched off, `(U,)` (as shares; negative: gained).

    The point's output is computed once; each unit's ablation then reruns only the layers after it (a sequential
    network) or the whole network with a hook (any other)."""
    y = torch.as_tensor(np.asarray(y))
    net = copy.deepcopy(model).eval()
    h = point_output(net, x, point.module)  # (N, ...)
    fill = h.mean(0, keepdim=True) if mode == "mean" else None
    names = [n for n, _ in net.named_children()] if isinstance(net, nn.Sequential) else []
    rest = list(net.children())[names.index(point.module) + 1 :] if point.module in names else None
    base = float((predictions(net, x) == y.numpy()).mean())
    n_units = _units(point.layout, h[:1])[0].shape[1]
    costs = np.zeros(n_units, np.float32)
    for u in range(n_units):
        if rest is not None:
            out = _ablate_hook(point.layout, [u], fill)(None, None, h)
            for m in rest:
                out = m(out)
            pred = out.argmax(1).numpy()
        else:
            pred = ablated_predictions(net, x, point, [u], mode, fill)
        costs[u] = base - float((pred == y.numpy()).mean())
        if progress and (u % 8 == 7 or u == n_units - 1):
            progress((u + 1) / n_units, f"unit {u + 1} of {n_units}")
    return costs


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
def eval_inputs(run, dataset) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The run's evaluation subset, prepared: (x, test indices, labels)."""
    idx, labels = run.eval_set()
    idx = np.asarray(idx)
    return dataset.prepare(dataset.x_test[idx]), idx, np.asarray(labels)


def run_unit_table(run, k: int, dataset, point: str, *, model=None) -> UnitTable:
    """Snapshot `k` of a `Run`: the unit table of `point` over its evaluation subset."""
    p = {q.name: q for q in run.points()}[point]
    x, idx, labels = eval_inputs(run, dataset)
    return unit_table(run.model_at(k) if model is None else model, x, p, idx, labels)


def run_unit_info(run, k: int, dataset, point: str, unit: int, n: int = 9, *, table=None, model=None) -> UnitInfo:
    """Snapshot `k` of a `Run`: unit `unit` of `point`, with the input patches of a conv channel's top examples."""
    table = run_unit_table(run, k, dataset, point, model=model) if table is None else table
    model = run.model_at(k) if model is None else model
    p = {q.name: q for q in run.points()}[point]
    field = receptive_field(model, p.module) if p.layout == "map" and dataset.is_image else None
    hw = tuple(dataset.input_shape[1:]) if dataset.is_image else None
    return unit_info(table, unit, n, field=field, image_hw=hw)


def run_ablation_info(run, k: int, dataset, point: str, units: Sequence[int], mode: str = "zero", *, intact=None):
    """Snapshot `k` of a `Run`: `units` of `point` switched off on its evaluation subset, against the intact network."""
    x, _, labels = eval_inputs(run, dataset)
    p = {q.name: q for q in run.points()}[point]
    return ablation_info(run.model_at(k), x, labels, p, units, dataset.n_classes, mode, intact=intact)


def run_ablation_ranking(run, k: int, dataset, point: str, mode: str = "zero", *, progress=None) -> np.ndarray:
    """Snapshot `k` of a `Run`: the accuracy each unit of `point` alone costs on the evaluation subset."""
    x, _, labels = eval_inputs(run, dataset)
    p = {q.name: q for q in run.points()}[point]
    return ablation_ranking(run.model_at(k), x, labels, p, mode, progress=progress)
