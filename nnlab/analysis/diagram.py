"""A network as a diagram: its layers in order, each with its output shape and parameter count, grouped in blocks.

Stage: analysis (a module in, a small record out) for any kind; `nnlab.figures.diagram` turns the record into
Graphviz source for `st.graphviz_chart`. A container child (a stage, a `Sequential`) is a group of its children;
the other layers group by the layer their declared point belongs to. Shapes come from one forward pass of zeros.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from ..capture import Capture
from ..models.point import Point


@dataclass(frozen=True)
class Box:
    """One layer of the diagram."""

    name: str  # dotted module name
    type: str  # its class, "Conv2dStaticSamePadding", "Block", ...
    shape: tuple[int, ...]  # one sample's output shape; () when it was not called
    parameters: int
    group: str  # the block it belongs to ("stage3", "layer 2"); "" for none
    point: str = ""  # the declared point it produces, if any


@dataclass(frozen=True)
class Diagram:
    input_shape: tuple[int, ...]
    boxes: tuple[Box, ...]
    total: int  # every parameter of the network


def _is_group(module: nn.Module) -> bool:
    return isinstance(module, (nn.Sequential, nn.ModuleList)) and len(module) > 0


def _layers(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """(dotted name, module, container group or "") of every layer a diagram shows, in order."""
    out = []
    for name, child in model.named_children():
        if _is_group(child):
            out += [(f"{name}.{sub}", module, name) for sub, module in child.named_children()]
        else:
            out.append((name, child, ""))
    return out


def diagram_info(model: nn.Module, points: Sequence[Point], input_shape: Sequence[int] | None = None) -> Diagram:
    """The layers of `model` (a network of nnlab or any module with `input_shape` given) for a diagram."""
    shape = tuple(input_shape or model.config.input_shape)
    layers = _layers(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    with Capture(model, [n for n, _, _ in layers], copy=False) as cap, torch.no_grad():
        model(torch.zeros(1, *shape, device=device))
    called = list(cap.outputs)  # the order the layers ran in (a module may be registered out of order)
    layers.sort(key=lambda layer: called.index(layer[0]) if layer[0] in called else len(called))
    by_module = {p.module: p for p in points if p.module}
    boxes, pending = [], []  # boxes waiting for the layer of the next box that has a point
    for name, module, group in layers:
        out = cap.outputs.get(name)
        point = by_module.get(name)
        box = Box(
            name,
            type(module).__name__,
            tuple(out.shape[1:]) if torch.is_tensor(out) else (),
            sum(p.numel() for p in module.parameters()),
            group,
            point.name if point else "",
        )
        if group or point is not None:
            label = group or f"layer {point.layer}"
            boxes += [Box(**{**b.__dict__, "group": label}) for b in pending] + [
                Box(**{**box.__dict__, "group": label})
            ]
            pending = []
        else:
            pending.append(box)
    total = sum(p.numel() for p in model.parameters())
    return Diagram(shape, tuple(boxes + pending), total)


def block_points(diagram: Diagram, points: Sequence[Point]) -> dict[str, str]:
    """What each block of the diagram opens in the walk-through: block (group) name → the last declared point made
    inside it (a stage's output, a layer's activation), in network order; blocks with no point are left out."""
    order = [p for p in points if p.module]
    found = {}
    for group in dict.fromkeys(b.group for b in diagram.boxes if b.group):
        members = {b.name for b in diagram.boxes if b.group == group}
        inside = [
            p
            for p in order
            if p.module == group or p.module.startswith(group + ".") or p.module in members
            or any(p.module.startswith(m + ".") for m in members)
        ]  # fmt: skip
        if inside:
            found[group] = inside[-1].name
    return found
