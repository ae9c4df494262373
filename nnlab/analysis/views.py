"""Which of the app's views fit a run: one sentence of what a view needs when it does not.

Stage: run (its kind and its points) → here → the Home page's "Look inside it" and each analysis page's gate. A kind
says which views it skips (`ModelKind.skips`); a few views need a kind of point that only some networks have.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import ModelKind, Point
from .attention import attention_points
from .latent import code_point
from .units import unit_points

# view → (what a run needs for it, one line that says so and how to get such a run); kinds' own skips come first
NEEDS = {
    "latent": (lambda points: code_point(points) is not None, "needs an autoencoder: train one on any image set"),
    "attention": (
        lambda points: bool(attention_points(list(points))),
        "needs a vision transformer: train one (model: ViT) on any image set",
    ),
    "units": (lambda points: bool(unit_points(points)), "needs a hidden layer of units or channels"),
    "features": (lambda points: bool(unit_points(points)), "needs a hidden layer for a sparse autoencoder to read"),
}


# the views that read only what the recorder kept (weights, metrics), so they fit a run of your own module too
WITHOUT_A_KIND = ("weights", "compare")


def why_not(view: str, kind: ModelKind | None, points: Sequence[Point]) -> str | None:
    """Why `view` does not fit a run of `kind` with `points`, as words that follow the view's title ("Attention
    needs a vision transformer: ..."); None when it fits. `kind` None: a run recorded from your own module."""
    if kind is None:
        if view in WITHOUT_A_KIND:
            return None
        return "needs a network nnlab can rebuild (a registered kind); this run recorded a module of your own"
    reason = kind.skip_reason(view)
    if reason:
        return f"does not apply to a {kind.title}: {reason}"
    return missing(view, points)


def missing(view: str, points: Sequence[Point]) -> str | None:
    """What `view` needs that a network with `points` lacks ("needs a vision transformer: ..."); None: nothing."""
    needs = NEEDS.get(view)
    return needs[1] if needs is not None and not needs[0](points) else None
