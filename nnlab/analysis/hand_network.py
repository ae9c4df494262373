"""A network you can hold: a small MLP on 2-D data as nodes and edges, with weights a person changes by hand.

Stage: run (one snapshot's weights) → analysis → `nnlab.figures.hand_network`. The network is copied and the edits
(parameter, entry → value) are written into the copy only; the record holds what a node-link picture needs: every
dense layer's weights and biases, each node's own map over the plane (the input, each hidden unit after its
activation, each class's probability), one sample's values and gradients (`nnlab.analysis.backprop`), the decision
boundary and the loss over the test split with the edits.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..models import forward_points, model_kinds, task_of
from .backprop import Backprop, OptimizerStep, backprop
from .boundary import Grid

MAX_HIDDEN_LAYERS, MAX_UNITS = 3, 8  # the largest network drawn as nodes and edges
Edits = Mapping[tuple[str, tuple[int, ...]], float]  # (parameter name, entry) → the value set by hand


def holdable(model: nn.Module) -> str | None:
    """None when `model` can be drawn as nodes and edges (2 inputs, at most 3 hidden dense layers of at most 8 units,
    nothing but dense layers holding parameters); else why not, in one sentence."""
    if tuple(model.config.input_shape) != (2,):
        return "it needs 2-D data (each sample two numbers, such as two moons), so every input can be a node"
    dense = [m for m in model.modules() if isinstance(m, nn.Linear)]
    other = [
        n for n, m in model.named_modules() if not isinstance(m, nn.Linear) and len(list(m.parameters(recurse=False)))
    ]
    if other or not dense:
        return f"only dense layers can be drawn as edges; this network also has {', '.join(other) or 'none'}"
    if len(dense) - 1 > MAX_HIDDEN_LAYERS or any(m.out_features > MAX_UNITS for m in dense[:-1]):
        return f"it is drawn only for at most {MAX_HIDDEN_LAYERS} hidden layers of at most {MAX_UNITS} units"
    return None


@dataclass(frozen=True)
class HandNet:
    """A small network with its edits, ready to draw as nodes (columns) and edges (one dense layer per gap)."""

    layers: tuple[str, ...]  # the dense modules in order: "dense1", ..., "out"
    weights: tuple[np.ndarray, ...]  # (out, in) each, with the edits
    biases: tuple[np.ndarray, ...]  # (out,) each
    columns: tuple[str, ...]  # the node columns: "input", then each hidden activated point, then "softmax"
    maps: tuple[np.ndarray, ...]  # per column (U, H, W): each node's output over the plane (row 0 lowest)
    signed: tuple[bool, ...]  # per column: values may be negative (diverging colours)
    values: tuple[np.ndarray, ...]  # per column (U,): the sample's value at each node
    node_grads: tuple[np.ndarray, ...]  # per column (U,): ∂loss/∂(each node's value) for the sample
    weight_grads: tuple[np.ndarray, ...]  # per layer (out, in): ∂loss/∂weight for the sample
    bias_grads: tuple[np.ndarray, ...]  # per layer (out,)
    xs: np.ndarray  # (W,) the grid across (raw data coordinates)
    ys: np.ndarray  # (H,) the grid up
    probs: np.ndarray  # (H, W, K) class probabilities over the grid: the decision boundary
    loss: float  # mean loss over the test split, with the edits
    accuracy: float  # test accuracy, with the edits
    record: Backprop  # the sample's backward pass, with the edits
    edited: tuple[tuple[str, tuple[int, ...]], ...] = ()  # the entries changed by hand

    def param(self, name: str) -> np.ndarray:
        """A parameter's values ("dense1.weight", "out.bias"), with the edits."""
        module, what = name.rsplit(".", 1)
        i = self.layers.index(module)
        return self.weights[i] if what == "weight" else self.biases[i]


def edited_copy(model: nn.Module, edits: Edits) -> nn.Module:
    """A copy of `model` (eval mode) with each edited entry set to its value; `model` itself is not touched."""
    twin = copy.deepcopy(model).eval()
    params = dict(twin.named_parameters())
    with torch.no_grad():
        for (name, index), value in edits.items():
            params[name][tuple(index)] = float(value)
    return twin


def hand_network_info(
    model: nn.Module,
    prepare: Callable[[np.ndarray], torch.Tensor],
    grid: Grid,
    x_test: np.ndarray,
    y_test: np.ndarray,
    sample: torch.Tensor,
    target: int,
    edits: Edits,
    opt: OptimizerStep,
    state: dict | None = None,
) -> HandNet:
    """The node-link record of `model` with `edits`, for the prepared `sample` `(1, 2)` and its `target`.

    Args:
        model: a network that `holdable` accepts (not changed).
        prepare: the dataset's normalisation (raw 2-D coordinates → the network's input).
        grid: the plane's grid, in raw coordinates.
        x_test, y_test: the test split (raw coordinates), for the loss and accuracy with the edits.
        sample, target: the point whose backward pass is drawn, and the class its loss asks for.
        edits: (parameter, entry) → value, set by hand.
        opt, state: the optimizer and its recorded state (the sample's step is part of its record).
    Returns: a `HandNet`.
    """
    net = edited_copy(model, edits)
    points = model_kinds()[net.config.kind].declare(net.config)
    dense = [(n, net.get_submodule(n)) for n in dense_layers(net)]
    columns = columns_of(net)
    hidden, probs_point = list(columns[1:-1]), columns[-1]
    with torch.no_grad():
        grid_in = prepare(grid.xy)  # (H·W, 2)
        outs = forward_points(net, grid_in)
        test_in = prepare(np.asarray(x_test, np.float32))
        logits = net(test_in)
        y = torch.as_tensor(np.asarray(y_test), dtype=torch.long)
        loss = float(task_of(net).loss(logits, test_in, y, net))
        accuracy = float((logits.argmax(1) == y).float().mean())
    h, w = grid.shape
    maps = [grid_in.T.reshape(2, h, w).numpy()] + [outs[c].T.reshape(-1, h, w).numpy() for c in columns[1:]]
    record = backprop(net, sample, target, opt, state)
    by_name = {p.name: p for p in record.points}
    values = [sample[0].numpy()] + [by_name[c].values for c in hidden] + [record.probs]
    logits_grad = next(p.grad for p in record.points if p.role == "logits")
    node_grads = [record.input_grad] + [by_name[c].grad for c in hidden] + [logits_grad]
    non_negative = {p.name: p.activation in ("relu", "sigmoid") for p in points}
    return HandNet(
        tuple(n for n, _ in dense),
        tuple(m.weight.detach().numpy().copy() for _, m in dense),
        tuple(m.bias.detach().numpy().copy() for _, m in dense),
        columns,
        tuple(np.ascontiguousarray(m) for m in maps),
        (True, *(not non_negative.get(c, False) for c in hidden), False),
        tuple(np.asarray(v, np.float32) for v in values),
        tuple(np.asarray(g, np.float32) for g in node_grads),
        tuple(record.param(f"{n}.weight").grad for n, _ in dense),
        tuple(record.param(f"{n}.bias").grad for n, _ in dense),
        grid.xs,
        grid.ys,
        outs[probs_point].numpy().reshape(h, w, -1),
        loss,
        accuracy,
        record,
        tuple(sorted(edits)),
    )


def run_hand_network(
    run, k: int, data, sample: torch.Tensor, target: int, edits: Edits, *, grid: Grid, model: nn.Module | None = None
) -> HandNet:
    """`hand_network_info` of snapshot `k` of `run` on its dataset `data`, from the recorded optimizer state."""
    from .backprop import optimizer_at, state_at

    net = model if model is not None else run.model_at(k)
    return hand_network_info(
        net, data.prepare, grid, data.x_test, data.y_test, sample, target, edits, optimizer_at(run, k), state_at(run, k)
    )


def dense_layers(model: nn.Module) -> tuple[str, ...]:
    """The dense modules of the network in order: the gaps between node columns."""
    return tuple(n for n, m in model.named_modules() if isinstance(m, nn.Linear))


def columns_of(model: nn.Module) -> tuple[str, ...]:
    """The node columns: "input", each hidden activated point, then the probabilities."""
    points = model_kinds()[model.config.kind].declare(model.config)
    probs = next(p.name for p in points if p.role == "probs")
    return ("input", *(p.name for p in points if p.role == "activated"), probs)


def entries(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Every weight entry and bias a hand may change, layer by layer: (parameter name, entry)."""
    out = []
    for name in dense_layers(model):
        rows, cols = model.get_submodule(name).weight.shape
        out += [(f"{name}.weight", (i, j)) for i in range(rows) for j in range(cols)]
        out += [(f"{name}.bias", (i,)) for i in range(rows)]
    return out


def entry_words(name: str, index: tuple[int, ...], columns: tuple[str, ...], layers: tuple[str, ...]) -> str:
    """An edge or node in words: "dense1.weight[3, 1]: input 1 → relu1 unit 3", "dense2.bias[0]: relu2 unit 0"."""
    module, what = name.rsplit(".", 1)
    i = layers.index(module)
    to, frm = columns[i + 1], columns[i]
    if what == "bias":
        return f"{name}[{index[0]}]: bias of {to} unit {index[0]}"
    return (
        f"{name}[{index[0]}, {index[1]}]: {frm} {'x' if frm == 'input' else 'unit '}{index[1]} → {to} unit {index[0]}"
    )
