"""Backpropagation of one sample, replayed exactly: the loss, every point's gradient, the gates, the weights' gradients,
and the step the run's optimizer would take from its recorded state, with the loss after it.

Stage: run (one snapshot's weights and optimizer state) → analysis → `nnlab.figures.backprop`. The network runs in
eval mode (dropout off, batch norm on its running statistics), the loss is the kind's task's loss against the
chosen target, and every number comes from torch's autograd; the optimizer's step is written out (SGD with
momentum; Adam with its moments and bias correction) so each part can be shown, and equals `torch.optim`'s.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..capture import Capture
from ..models import Point, model_kinds, task_of

ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults, which the trainer uses


@dataclass(frozen=True)
class PointGrad:
    """One point's output for the sample and the loss's gradient with respect to it."""

    name: str  # "dense1", "relu1", "conv1", "block2", ...
    role: str  # "raw", "activated", "pooled", "logits", "residual", ...
    layer: int
    layout: str  # the point's layout (nnlab.models.LAYOUTS)
    activation: str  # the activation at or before this point, "" for none
    values: np.ndarray  # the output, one sample (no batch axis)
    grad: np.ndarray  # ∂loss/∂output, shaped like `values`
    gate: np.ndarray | None = (
        None  # an activated point: the activation's slope at its input (ReLU: 1 passed, 0 stopped)
    )

    @property
    def stopped(self) -> np.ndarray:
        """Indices of the values whose gate is exactly zero: the gradient above them reached nothing below."""
        return np.flatnonzero(self.gate.reshape(-1) == 0) if self.gate is not None else np.zeros(0, int)


@dataclass(frozen=True)
class ParamGrad:
    """One parameter: its value at the snapshot, this sample's gradient, and the optimizer's step from it."""

    name: str  # "dense1.weight"
    module: str  # "dense1"
    value: np.ndarray  # the parameter at the snapshot
    grad: np.ndarray  # ∂loss/∂parameter for this sample alone
    step: np.ndarray  # what the optimizer adds to the parameter: new value − value
    state: dict[str, np.ndarray] = field(default_factory=dict)  # the recorded optimizer state before the step
    new_state: dict[str, np.ndarray] = field(default_factory=dict)  # the same after it
    incoming: np.ndarray | None = None  # a dense layer's weight: its input (in,); grad = outer(outgoing, incoming)
    outgoing: np.ndarray | None = None  # ... and the gradient at its output (out,)

    @property
    def is_dense(self) -> bool:
        return self.incoming is not None

    @property
    def is_filters(self) -> bool:
        """A convolution's weight `(C_out, C_in, k, k)`: one filter per output channel."""
        return self.grad.ndim == 4


@dataclass(frozen=True)
class OptimizerStep:
    """The optimizer's settings for the step after the snapshot."""

    name: str  # "sgd" or "adam"
    lr: float  # the learning rate of that step (the schedule's)
    momentum: float = 0.0  # SGD
    weight_decay: float = 0.0
    t: int = 1  # Adam: the step's number (1 for the first step of training)
    betas: tuple[float, float] = ADAM_BETAS
    eps: float = ADAM_EPS

    @property
    def bias_correction(self) -> tuple[float, float]:
        """Adam's (1 − β₁ᵗ, 1 − β₂ᵗ): the moments start at zero, so early averages are scaled up by these."""
        return 1 - self.betas[0] ** self.t, 1 - self.betas[1] ** self.t


@dataclass(frozen=True)
class Backprop:
    """One sample's backward pass at one snapshot."""

    index: int  # the sample's index in the test split (-1: an input of your own)
    target: int  # the class the loss asks for
    loss: float  # the loss before the step
    loss_after: float  # the loss on the same sample after the optimizer's one-sample step
    probs: np.ndarray  # (K,) class probabilities before the step
    probs_after: np.ndarray  # (K,) after it
    input_grad: np.ndarray  # ∂loss/∂input, shaped like one input
    points: tuple[PointGrad, ...]  # network order
    params: tuple[ParamGrad, ...]  # network order
    optimizer: OptimizerStep
    step: int = 0  # the training step of the snapshot

    def point(self, name: str) -> PointGrad:
        return next(p for p in self.points if p.name == name)

    def param(self, name: str) -> ParamGrad:
        return next(p for p in self.params if p.name == name)

    def weights(self) -> list[ParamGrad]:
        """The weight matrices and filters (not biases, norms or embeddings of one axis), in network order."""
        return [p for p in self.params if p.grad.ndim >= 2 and p.name.endswith("weight")]


# --- the optimizer's step, written out --------------------------------------------------------------------------
def sgd_step(
    param: torch.Tensor, grad: torch.Tensor, state: dict, opt: OptimizerStep
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """SGD with momentum as torch does it: d = g + λθ; b = μb + d (b = d at the first step); θ ← θ − lr·b."""
    d = grad + opt.weight_decay * param if opt.weight_decay else grad
    if not opt.momentum:
        return -opt.lr * d, {}
    buf = state.get("momentum_buffer")
    buf = d.clone() if buf is None else opt.momentum * buf + d
    return -opt.lr * buf, {"momentum_buffer": buf}


def adam_step(
    param: torch.Tensor, grad: torch.Tensor, state: dict, opt: OptimizerStep
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Adam as torch does it: m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², θ ← θ − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)."""
    (b1, b2), (c1, c2) = opt.betas, opt.bias_correction
    d = grad + opt.weight_decay * param if opt.weight_decay else grad
    m = state.get("exp_avg", torch.zeros_like(param)).lerp(d, 1 - b1)
    v = state.get("exp_avg_sq", torch.zeros_like(param)) * b2 + (1 - b2) * d * d
    denom = v.sqrt() / math.sqrt(c2) + opt.eps
    return -(opt.lr / c1) * m / denom, {"exp_avg": m, "exp_avg_sq": v}


STEPS = {"sgd": sgd_step, "adam": adam_step}


# --- the backward pass ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _dense_inputs(model: nn.Module):
    """Keep the input of every `nn.Linear` that gets one vector per sample (hooks removed on leaving)."""
    found: dict[str, torch.Tensor] = {}
    handles = []

    def keep(name):
        def hook(module, inputs):
            if inputs[0].ndim == 2:
                found[name] = inputs[0]

        return hook

    try:
        for name, m in model.named_modules():
            if isinstance(m, nn.Linear):
                handles.append(m.register_forward_pre_hook(keep(name)))
        yield found
    finally:
        for h in handles:
            h.remove()


def _gate(model: nn.Module, point: Point, before: torch.Tensor) -> np.ndarray:
    """The slope of an activated point's elementwise activation at its input `before` (the point just before it)."""
    x = before.detach().requires_grad_(True)
    out = model.get_submodule(point.module)(x)
    (slope,) = torch.autograd.grad(out, x, torch.ones_like(out))
    return slope[0].numpy()


def backprop(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    opt: OptimizerStep,
    state: dict[str, dict[str, torch.Tensor]] | None = None,
    *,
    index: int = -1,
    step: int = 0,
) -> Backprop:
    """The backward pass of one prepared sample `x` `(1, *input_shape)` and the optimizer's step from `state`.

    Args:
        model: a network built by `build_model` with the snapshot's weights (not changed: no `.grad` is set,
            hooks are removed; do not share it with another thread while this runs).
        x: the prepared sample.
        target: the class the loss asks for (the true class by default on the page).
        opt: the optimizer's settings for the step after the snapshot.
        state: parameter name → its recorded optimizer state ("momentum_buffer", "exp_avg", "exp_avg_sq").
        index, step: the sample's test index and the snapshot's training step, kept in the record.
    Returns: a `Backprop`.
    """
    was = model.training
    model.eval()
    points = model_kinds()[model.config.kind].declare(model.config)
    named = dict(model.named_parameters())
    x = x.detach().clone().requires_grad_(True)
    y = torch.tensor([int(target)])
    task = task_of(model)
    with Capture(model, [p.module for p in points if p.module], copy=False) as cap, _dense_inputs(model) as inputs:
        logits = model(x)
    loss = task.loss(logits, x, y, model)
    outs = {p.name: (cap[p.module] if p.module else torch.softmax(logits, 1)) for p in points}
    graph = [t for t in outs.values() if t.requires_grad]
    grads = torch.autograd.grad(loss, [x, *graph, *named.values()], allow_unused=True)
    input_grad, point_grads, param_grads = grads[0], grads[1 : 1 + len(graph)], grads[1 + len(graph) :]
    by_tensor = dict(zip(map(id, graph), point_grads, strict=True))
    records, prev = [], None
    for p in points:
        if p.role == "probs":  # the record's `probs`; the loss is computed from the logits
            continue
        out = outs[p.name]
        g = by_tensor.get(id(out))
        g = torch.zeros_like(out) if g is None else g
        gate = None
        if p.role == "activated" and prev is not None and prev.layer == p.layer and prev.layout == p.layout:
            gate = _gate(model, p, outs[prev.name])
        records.append(PointGrad(p.name, p.role, p.layer, p.layout, p.activation, _np(out[0]), _np(g[0]), gate))
        prev = p
    # the optimizer's step, parameter by parameter, and the loss after it
    rule, state = STEPS[opt.name], state or {}
    params, new = [], {}
    for (name, value), g in zip(named.items(), param_grads, strict=True):
        g = torch.zeros_like(value) if g is None else g.detach()
        before = {key: v.to(torch.float32) for key, v in state.get(name, {}).items()}
        delta, after = rule(value.detach(), g, before, opt)
        new[name] = value.detach() + delta
        module = name.rsplit(".", 1)[0]
        dense = name.endswith("weight") and module in inputs and g.ndim == 2 and _captured(cap, module, by_tensor)
        params.append(
            ParamGrad(
                name,
                module,
                _np(value),
                _np(g),
                _np(new[name] - value.detach()),
                {key: _np(v) for key, v in before.items()},
                {key: _np(v) for key, v in after.items()},
                _np(inputs[module][0]) if dense else None,
                _np(by_tensor[id(cap[module])][0]) if dense else None,
            )
        )
    with torch.no_grad():
        buffers = dict(model.named_buffers())
        logits_after = functional_call(model, {**new, **buffers}, (x,))
        loss_after = task.loss(logits_after, x, y, model)
    model.train(was)
    return Backprop(
        int(index),
        int(target),
        float(loss.detach()),
        float(loss_after),
        _np(torch.softmax(logits.detach(), 1)[0]),
        _np(torch.softmax(logits_after, 1)[0]),
        _np(input_grad[0]),
        tuple(records),
        tuple(params),
        opt,
        int(step),
    )


def _captured(cap: Capture, module: str, by_tensor: dict) -> bool:
    return module in cap.outputs and id(cap[module]) in by_tensor


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float32).numpy().copy()


# --- a run in: the snapshot's settings and state ----------------------------------------------------------------
def optimizer_at(run, k: int) -> OptimizerStep:
    """The optimizer of the step after snapshot `k` of `run`: its kind, the schedule's learning rate, Adam's t."""
    from ..train import lr_factor

    cfg = run.train_config
    step = int(run.snapshots[k]["step"])
    total = int(run.manifest.get("progress", {}).get("total_steps") or 0)
    lr = cfg.lr * (lr_factor(cfg.schedule, step, total) if total else 1.0)
    return OptimizerStep(cfg.optimizer, lr, cfg.momentum, cfg.weight_decay, step + 1)


def state_at(run, k: int) -> dict[str, dict[str, torch.Tensor]]:
    """Parameter name → its recorded optimizer state at snapshot `k` (empty before the first step)."""
    state: dict[str, dict[str, torch.Tensor]] = {}
    for key, v in run.group(k, "opt").items():
        name, what = key.rsplit("/", 1)
        state.setdefault(name, {})[what] = v
    return state


def run_backprop(run, k: int, x: torch.Tensor, target: int, *, index: int = -1) -> Backprop:
    """`backprop` of prepared sample `x` at snapshot `k` of `run`, on a network of its own, from the recorded state."""
    return backprop(
        run.model_at(k), x, target, optimizer_at(run, k), state_at(run, k), index=index, step=run.snapshots[k]["step"]
    )


# --- what to say about it ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Largest:
    """Where an array of a record is largest in size: which entry, and its value."""

    name: str  # the point or parameter
    index: tuple[int, ...]  # the entry
    value: float  # its (signed) value


def _argmax(name: str, a: np.ndarray) -> Largest:
    i = np.unravel_index(int(np.abs(a).argmax()), a.shape) if a.size else ()
    return Largest(name, tuple(int(n) for n in i), float(a[i]) if a.size else 0.0)


def largest_gradient(record: Backprop, *, hidden_only: bool = True) -> Largest:
    """The point and entry where this sample's gradient is largest in size (hidden points only, by default)."""
    roles = ("logits", "probs") if hidden_only else ("probs",)
    candidates = [_argmax(p.name, p.grad) for p in record.points if p.role not in roles]
    return max(candidates, key=lambda c: abs(c.value)) if candidates else Largest("", (), 0.0)


def largest_move(record: Backprop, params: list[ParamGrad] | None = None) -> Largest:
    """The weight entry the optimizer's step moves most (among `params`, default every weight matrix or filter)."""
    candidates = [_argmax(p.name, p.step) for p in (record.weights() if params is None else params)]
    return max(candidates, key=lambda c: abs(c.value)) if candidates else Largest("", (), 0.0)


def largest_weight_gradient(record: Backprop, params: list[ParamGrad] | None = None) -> Largest:
    """The weight entry with the largest gradient in size (among `params`, default every weight)."""
    candidates = [_argmax(p.name, p.grad) for p in (record.weights() if params is None else params)]
    return max(candidates, key=lambda c: abs(c.value)) if candidates else Largest("", (), 0.0)
