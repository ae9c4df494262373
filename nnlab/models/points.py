"""Points: the named places inside a network whose outputs a user can look at.

A model kind declares its points (`nnlab.models.registry`); each has a role (what the
output is), the dotted name of the module that produces it, and a layout that decides
how every view draws it. `forward_points` reads them with `Capture`, so a point can sit
anywhere in the module tree.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from ..capture import Capture
from .point import LAYOUTS, ROLES, Point  # noqa: F401  (re-exported: the models package's names)
from .registry import model_kind


def unit_view(layout: str, out: torch.Tensor) -> torch.Tensor:
    """A batch of a point's outputs `(B, ...)` as the units the recorder keeps statistics of `(B, U)`, by layout:
    a map's channels (averaged over positions), a tokens point's class token (token 0), an attention point's
    class-token rows (where the class token looks, head by head), anything else flattened."""
    if layout == "map":
        return out.mean((2, 3))  # (B, C)
    if layout == "tokens":
        return out[:, 0]  # (B, E)
    if layout == "attention":
        return out[:, :, 0].flatten(1)  # (B, H·N)
    return out.flatten(1)


def sample_vectors(layout: str, out: torch.Tensor) -> torch.Tensor:
    """A batch of a point's outputs as one vector per sample `(B, D)` for maps of the samples (PCA, t-SNE): a
    tokens point by its class token, the rest flattened whole."""
    return out[:, 0] if layout == "tokens" else out.flatten(1)


def _declared(model: nn.Module) -> list[Point]:
    config = getattr(model, "config", None)
    if config is None:
        raise TypeError(f"{type(model).__name__} was not built by nnlab.build_model, so it declares no points")
    return model_kind(config.kind).declare(config)


def _capture_names(points: list[Point]) -> list[str]:
    return [p.module for p in points if p.module is not None]


def forward_points(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Run `x` through the network once; every declared point's output in network order (softmax included).

    The outputs stay where the model computed them (device, autograd graph), for a model built by `build_model`.
    """
    points = _declared(model)
    with Capture(model, _capture_names(points), copy=False) as cap:
        logits = model(x)
    return {p.name: (cap[p.module] if p.module is not None else torch.softmax(logits, dim=1)) for p in points}


def point_of(model: nn.Module, name: str) -> Point:
    """The declared point `name` of a network built by `build_model` (without its shape)."""
    by_name = {p.name: p for p in _declared(model)}
    if name not in by_name:
        raise KeyError(f"The network has no point {name!r}; its points are {', '.join(by_name)}")
    return by_name[name]


def module_of(model: nn.Module, name: str) -> str | None:
    """The dotted module name behind the declared point `name` (None: the softmax of the model's output)."""
    return point_of(model, name).module


def layer_points(model: nn.Module) -> list[Point]:
    """Every declared point of the network in order, with one sample's output shape.

    The shapes come from a dry run of a copy of the architecture (see `with_shapes`; no change to `model`).
    """
    return with_shapes(model.config, _declared(model))


def with_shapes(config, points: list[Point]) -> list[Point]:
    """`points` with their one-sample shapes, from a dry run of `config`'s network on one sample of zeros.

    The network is built on the meta device (no weights are initialised or loaded) and then given zeroed CPU memory
    for its parameters: one forward pass on the meta device would send its layers through torch's Python
    decompositions, which import torch's compiler (about 70 MB in a server that needs it for nothing else; a
    training worker imports it anyway, with its optimizer). The weights cost at most the server's parameter limit,
    and only during the call.
    """
    with torch.device("meta"):
        net = model_kind(config.kind).build(config).eval()
    # zeros of each parameter's and buffer's shape, as `to_empty` gives memory (its empty_like of a meta tensor
    # imports sympy through torch's reference ops)
    net = net._apply(lambda t: torch.zeros(t.shape, dtype=t.dtype))
    with Capture(net, _capture_names(points), copy=False) as cap, torch.no_grad():
        logits = net(torch.zeros(1, *config.input_shape))
    return [replace(p, shape=tuple((cap[p.module] if p.module else logits).shape[1:])) for p in points]


def parameter_table(model: nn.Module) -> list[dict]:
    """One row per top-level layer with parameters or a point: name, type, output shape, parameter count."""
    shapes = {p.module: p.shape for p in layer_points(model)} if hasattr(model, "config") else {}
    rows = []
    for name, module in model.named_children():
        n = sum(p.numel() for p in module.parameters())
        if n or name in shapes:
            rows.append(
                {
                    "layer": name,
                    "type": type(module).__name__,
                    "output shape": "×".join(map(str, shapes.get(name, ()))),
                    "parameters": n,
                }
            )
    return rows


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
