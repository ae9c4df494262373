"""Units: what each unit (a dense layer's unit, a conv layer's channel) responds to.

Stage: run (one snapshot's weights, replayed over the evaluation subset) → analysis → `nnlab.figures.units`.
`unit_table` is one forward pass: every unit's value for every evaluation sample (a channel's value is its strongest
position, kept too, so the input patch it sees can be cut out), the layer's mean output and the network's answers.
From it: the top examples and the activation density of one unit; `nnlab.analysis.ablation` switches units off,
starting from it.

Speed: the evaluation subset runs in batches of `BATCH` images in channels-last memory order under
`torch.inference_mode` (1,000 CIFAR-shaped images through the default CNN: about 40 ms on 2 cores against 200 ms in
one NCHW batch), and a channel's map is reduced to its maximum batch by batch, never kept whole.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..capture import Capture
from ..models import Point

UNIT_LAYOUTS = ("vector", "map", "code", "tokens")  # a tokens point's units: its embedding's dimensions (class token)
NOT_UNITS = ("logits", "probs", "reconstruction", "attention")  # the output and what is not made of units
BATCH = 128  # samples per forward pass: a conv layer's maps of a batch (8 MB for 16×32×32) stay in the L3 cache


def unit_points(points: Sequence[Point]) -> list[Point]:
    """The points whose units the Units page looks at: hidden layers with one value (or map) per unit."""
    return [p for p in points if p.module and p.layout in UNIT_LAYOUTS and p.role not in NOT_UNITS]


def unit_values(layout: str, out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch of a point's outputs → each unit's value `(B, U)` and, for maps, its strongest position `(B, U)`."""
    if layout == "map":
        values, where = out.flatten(2).max(2)  # (B, C, H·W) → the first position of the largest value
        return values, where
    if layout == "tokens":
        return out[:, 0], None  # the class token, the one the head reads
    return out.flatten(1), None


def split_at(model: nn.Module, module: str) -> tuple[list[nn.Module], list[nn.Module]] | None:
    """(the layers up to and including `module`, the layers after it) when `module` is a child of a sequential
    network; None for any other module (it is reached with a hook on a full pass)."""
    names = [n for n, _ in model.named_children()] if isinstance(model, nn.Sequential) else []
    if module not in names:
        return None
    layers, i = list(model.children()), names.index(module) + 1
    return layers[:i], layers[i:]


def fast(x: torch.Tensor) -> torch.Tensor:
    """Images in channels-last memory order (what the CPU's convolutions run fastest on); anything else as it is."""
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def run_layers(layers: Sequence[nn.Module], h: torch.Tensor) -> torch.Tensor:
    for m in layers:
        h = m(h)
    return h


@torch.inference_mode()
def point_batches(
    model: nn.Module, x: torch.Tensor, module: str, *, batch: int = BATCH, whole: bool = False
) -> Iterator[torch.Tensor] | Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The output of `module` for prepared inputs `x`, one batch at a time (model in eval mode). A child of a
    sequential network runs only the layers up to it; any other module is captured on a full pass. `whole`: pairs
    (the module's output, the network's), the rest of a sequential network run on from the first."""
    model.eval()
    split = split_at(model, module)
    for i in range(0, len(x), batch):
        h = fast(x[i : i + batch])
        if split is not None:
            h = run_layers(split[0], h)
            yield (h, run_layers(split[1], h)) if whole else h
            continue
        with Capture(model, [module], copy=False) as cap:
            out = model(h)
        yield (cap[module], out) if whole else cap[module]


def point_output(model: nn.Module, x: torch.Tensor, module: str, *, batch: int = BATCH) -> torch.Tensor:
    """The output of `module` for prepared inputs `x`: `(N, ...)`."""
    return torch.cat(list(point_batches(model, x, module, batch=batch)))


def batch_sum(h: torch.Tensor) -> torch.Tensor:
    """`h.sum(0)`, summed in the tensor's memory order (channels-last maps: 15× faster than a strided sum)."""
    if h.dim() == 4 and not h.is_contiguous():
        return h.permute(0, 2, 3, 1).sum(0).permute(2, 0, 1)
    return h.sum(0)


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
    mean: np.ndarray | None = None  # (1, ...) float32: the point's mean output (what "set to the mean" uses)
    whole: bool = False  # `values` is the point's whole output (a vector point): ablation starts from it
    pred: np.ndarray | None = None  # (N,) the intact network's predicted classes (None: no class scores)

    @property
    def n_units(self) -> int:
        return self.values.shape[1]


@torch.inference_mode()
def unit_table(model: nn.Module, x: torch.Tensor, point: Point, indices: np.ndarray, labels: np.ndarray) -> UnitTable:
    """One forward pass of the evaluation subset `x` (test indices `indices`): the table of `point`'s units, and the
    network's own answers (what ablation compares with, from the same arithmetic)."""
    values, where, preds, total, shape = [], [], [], None, None
    for out, final in point_batches(model, x, point.module, whole=True):
        v, w = unit_values(point.layout, out)
        values.append(v.float())
        if w is not None:
            where.append(w)
        preds.append(final.argmax(1) if final.dim() == 2 else None)  # class scores (not an autoencoder's image)
        s = batch_sum(out.float())
        total, shape = (s if total is None else total + s), tuple(out.shape)
    if total is None:
        raise ValueError("The evaluation subset is empty: there is nothing to run through the network")
    v = torch.cat(values).numpy()
    return UnitTable(
        point.name,
        point.layout,
        v,
        torch.cat(where).numpy() if where else None,
        shape[2:] if point.layout == "map" else None,
        np.asarray(indices),
        np.asarray(labels),
        bool((v < 0).any()),
        (total / len(x)).unsqueeze(0).contiguous().numpy(),
        len(shape) == 2 and split_at(model, point.module) is not None,
        None if preds[0] is None else torch.cat(preds).numpy(),
    )


def top_examples(values: np.ndarray, n: int = 9, *, lowest: bool = False) -> np.ndarray:
    """Rows of `values` (N,) with the `n` highest values, highest first (`lowest`: the `n` lowest, lowest first);
    ties go to the earlier row."""
    v = -values if not lowest else values
    return np.argsort(v, kind="stable")[: min(n, len(values))]


def receptive_field(model: nn.Module, module: str) -> tuple[int, int, float]:
    """(size, jump, centre of the first position) of one position of `module`'s maps on the input, in pixels, from
    the convolutions and pools before it and inside it (torch's own attributes: any network of Conv2d / MaxPool2d /
    AvgPool2d; a convolution that pads its input itself first, TensorFlow's "same" padding, through its
    `static_padding` module)."""
    size, jump, start, inside = 1, 1, 0.0, False
    for name, m in model.named_modules():
        if inside and not name.startswith(module + "."):
            break  # past `module` and everything inside it
        if isinstance(m, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k, s, p, d = (_pair(getattr(m, a, 1)) for a in ("kernel_size", "stride", "padding", "dilation"))
            p += _static_padding(m)
            k_eff = d * (k - 1) + 1
            start += ((k_eff - 1) / 2 - p) * jump
            size += (k_eff - 1) * jump
            jump *= s
        inside = inside or name == module
    return size, jump, start


def _static_padding(m: nn.Module) -> int:
    """The rows a convolution pads above its input itself before convolving (`static_padding`, a ZeroPad2d)."""
    pad = getattr(m, "static_padding", None)
    return int(pad.padding[2]) if isinstance(pad, nn.ZeroPad2d) else 0


def _pair(v) -> int:
    return int(v[0] if isinstance(v, tuple | list) else v)


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


# --- the page's records: a Run at one snapshot ------------------------------------------------------------------
def eval_inputs(run, dataset) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The run's evaluation subset, prepared: (x, test indices, labels)."""
    idx, labels = run.eval_set()
    idx = np.asarray(idx)
    return dataset.prepare(dataset.x_test[idx]), idx, np.asarray(labels)


_POINTS: OrderedDict[str, dict[str, Point]] = OrderedDict()  # a network's points by its manifest entry (~10 ms each)


def find_point(run, point: str) -> Point:
    """The run's point `point` (a network's points are worked out once per model config, not on every call)."""
    key = json.dumps(run.manifest["model"], sort_keys=True, default=str)
    found = _POINTS.get(key)
    if found is None:
        found = _POINTS[key] = {q.name: q for q in run.points()}
        while len(_POINTS) > 32:
            _POINTS.popitem(last=False)
    return found[point]


def run_unit_table(run, k: int, dataset, point: str, *, model=None) -> UnitTable:
    """Snapshot `k` of a `Run`: the unit table of `point` over its evaluation subset."""
    x, idx, labels = eval_inputs(run, dataset)
    return unit_table(run.model_at(k) if model is None else model, x, find_point(run, point), idx, labels)


def run_unit_info(run, k: int, dataset, point: str, unit: int, n: int = 9, *, table=None, model=None) -> UnitInfo:
    """Snapshot `k` of a `Run`: unit `unit` of `point`, with the input patches of a conv channel's top examples."""
    table = run_unit_table(run, k, dataset, point, model=model) if table is None else table
    p = find_point(run, point)
    field = None
    if p.layout == "map" and dataset.is_image:
        field = receptive_field(run.model_at(k) if model is None else model, p.module)
    hw = tuple(dataset.input_shape[1:]) if dataset.is_image else None
    return unit_info(table, unit, n, field=field, image_hw=hw)
