"""A point: one named place inside a network whose output a user can look at (its role and its layout).

A leaf of the models package: it imports nothing of nnlab, so the registry (which declares points) and
`points.py` (which reads them from a network) both import it without a circle.
"""

from __future__ import annotations

from dataclasses import dataclass

# How a point's output for one sample is laid out; the views choose what to draw from this, never from `ndim`.
LAYOUTS = {
    "vector": "(U,): one value per unit",
    "map": "(C, H, W): one feature map per channel",
    "tokens": "(N, E): one embedding per token; token 0 is the class token, the one the head reads",
    "attention": "(H, N, N): each head's attention weights; row i is where token i looks, and sums to 1",
    "code": "(D,): the code of an autoencoder's bottleneck",
}
# What a point's output is. Raw and activated outputs of one layer are separate points.
ROLES = {
    "raw": "before the activation",
    "norm": "normalised",
    "activated": "after the activation",
    "pooled": "pooled",
    "logits": "the output (logits)",
    "probs": "the class probabilities",
    "attention": "attention weights",
    "residual": "a block's output (the residual stream)",
    "reconstruction": "the reconstruction of the input (an autoencoder's output)",
}


@dataclass(frozen=True)
class Point:
    """One addressable output inside the network."""

    name: str  # "dense1", "relu1", "pool1", "out", "softmax", ...: the key of its recorded statistics
    role: str  # one of ROLES
    layer: int  # 1-based layer index; raw and activated outputs of one layer share it
    shape: tuple[int, ...] = ()  # one sample's output shape (filled in by `layer_points`)
    module: str | None = None  # dotted module name in `model.named_modules()`; None: softmax of the model's output
    layout: str = "vector"  # one of LAYOUTS
    activation: str = ""  # the activation applied at or before this point ("relu", ...), "" for none

    @property
    def is_map(self) -> bool:
        return self.layout == "map"

    @property
    def per_unit(self) -> str:
        """What one unit of this point is called: "channel" for maps, "token" for tokens, else "unit"."""
        return {"map": "channel", "tokens": "token"}.get(self.layout, "unit")
