"""Which layer of a network an attribution method reads: Grad-CAM's last feature map, CAM's pooling head.

Stage: analysis, under the method table (`table`) and the computations (`gradients`, `cam`). Asks the points a
network declares, never its kind; a plain PyTorch module is searched for its last convolution instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ...models import ACTIVATIONS, Point, model_kind


def declared_points(model: nn.Module) -> list[Point] | None:
    """The points an nnlab network declares (no shapes); None for a plain module."""
    config = getattr(model, "config", None)
    return model_kind(config.kind).declare(config) if config is not None else None


def gradcam_layer(model: nn.Module) -> str | None:
    """The module Grad-CAM reads: the last activated feature map the network declares (else its last feature map);
    for a plain module, the activation right after the last convolution. None without feature maps."""
    points = declared_points(model)
    if points is not None:
        maps = [p for p in points if p.layout == "map" and p.module]
        last = [p for p in maps if p.role == "activated"] or maps
        return last[-1].module if last else None
    names = [(n, m) for n, m in model.named_modules() if n]
    convs = [i for i, (_, m) in enumerate(names) if isinstance(m, nn.Conv2d)]
    if not convs:
        return None
    i = convs[-1]
    for name, module in names[i + 1 : i + 3]:  # a batch norm may sit between the convolution and its activation
        if isinstance(module, tuple(ACTIVATIONS.values())):
            return name
    return names[i][0]


def cam_head(points: Sequence[Point]) -> tuple[Point, Point, Point] | None:
    """The (feature map, global average pool, output layer) that CAM reads: a map point, then a point pooling it to
    one value per channel, then the logits right after; None when the network ends otherwise."""
    order = [p for p in points if p.role != "probs"]
    for i in range(1, len(order) - 1):
        pool, out = order[i], order[i + 1]
        if pool.role == "pooled" and pool.layout == "vector" and out.role == "logits" and order[i - 1].is_map:
            return order[i - 1], pool, out
    return None
