"""CAM and Grad-CAM++, written here because captum has neither.

Stage: analysis, called through `table.METHODS`. Both read one layer of feature maps `A` `(N, C, h, w)` and return
a non-negative map upsampled to the input, `(N, 1, H, W)`, as Grad-CAM does:
- CAM (Zhou et al. 2016), for a network whose head is global average pooling then one linear layer `W`:
  `relu(Σ_c W[target, c] · A_c)`, where `A` are the maps the pooling reads (`network.cam_head`).
  Grad-CAM reads the last *activated* maps instead (`network.gradcam_layer`). Through global average pooling its
  channel weights are `W[target, c] / (h·w)` of the maps it reads (any 2×2 max or average pool before it passes each
  position's share on), so Grad-CAM is `relu(Σ_c W[target, c] · A'_c) / (h·w)` on its own maps `A'`. Only where no
  pooling sits between them (a GAP CNN with pool "none") are `A'` and `A` the same, and Grad-CAM is CAM divided by
  h·w; on the max-pool nets with a GAP head CAM reads the pooled maps (half the size, each the maximum of four) and
  the two maps differ.
- Grad-CAM++ (Chattopadhyay et al. 2018), eq. 19 with the score's exponential (a positive factor per sample,
  left out): with `g = ∂score/∂A`, `α = g² / (2g² + Σ_ab A_ab · g³)`, channel weights `Σ_ij α · relu(g)`,
  map `relu(Σ_c weight_c · A_c)`.
The model is only read: one forward hook for the duration of a call, no parameter gradients (Grad-CAM++'s graph
starts at the maps, so it works on a network whose weights need no gradient, such as a pretrained one).
"""

from __future__ import annotations

import torch
from torch.nn import functional

from .network import cam_head, declared_points, gradcam_layer


def _targets(target, n: int) -> torch.Tensor:
    return torch.as_tensor(target if isinstance(target, list) else [target] * n, dtype=torch.long)


def _upsample(maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, h, w) → (N, 1, H, W), bilinear as captum's Grad-CAM, never negative."""
    return functional.interpolate(maps[:, None], size=size, mode="bilinear", align_corners=False).clamp_min(0)


def _maps_and_logits(model, x, module: str, *, leaf: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The feature maps of `module` and the logits for `x`. `leaf`: the graph starts at the maps (they are handed on
    as a fresh leaf that needs a gradient), so their gradient exists whether or not the weights need one."""
    kept = {}

    def hook(module, inputs, out):
        kept["a"] = out.detach().requires_grad_() if leaf else out
        return kept["a"]

    handle = model.get_submodule(module).register_forward_hook(hook)
    try:
        logits = model(x)
    finally:
        handle.remove()
    return kept["a"], logits


def cam(model, x, target, **_):
    points = declared_points(model)
    head = cam_head(points) if points is not None else None
    if head is None:
        raise ValueError("CAM needs global average pooling right before the output layer, and this network has none.")
    maps, _, out = head
    with torch.no_grad():
        a, _ = _maps_and_logits(model, x.detach(), maps.module)  # (N, C, h, w)
        w = model.get_submodule(out.module).weight[_targets(target, len(x))]  # (N, C)
        return _upsample(torch.relu(torch.einsum("nchw,nc->nhw", a, w)), tuple(x.shape[-2:]))


def grad_cam_pp(model, x, target, **_):
    name = gradcam_layer(model)
    if name is None:
        raise ValueError(
            "Grad-CAM++ needs a layer of feature maps (channels × height × width), and this network has none."
        )
    with torch.enable_grad():
        a, logits = _maps_and_logits(model, x.detach(), name, leaf=True)  # (N, C, h, w), (N, K)
        score = logits.gather(1, _targets(target, len(x))[:, None]).sum()
        (g,) = torch.autograd.grad(score, a)  # (N, C, h, w): only the maps' gradient, no parameter's
    a, g = a.detach(), g.detach()
    denominator = 2 * g**2 + a.sum((2, 3), keepdim=True) * g**3
    alpha = torch.where(denominator != 0, g**2 / torch.where(denominator != 0, denominator, 1), 0)
    weights = (alpha * torch.relu(g)).sum((2, 3))  # (N, C)
    return _upsample(torch.relu(torch.einsum("nchw,nc->nhw", a, weights)), tuple(x.shape[-2:]))
