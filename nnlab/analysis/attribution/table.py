"""The one table of attribution methods: what each one's map says, where it comes from, what it needs.

Stage: analysis. `METHODS` lists every method in the page's order; a new method is one `Method` entry here, its
computation in `gradients` (captum's gradient methods), `perturb` (captum's LIME and KernelSHAP) or `cam` (CAM and
Grad-CAM++, written here). `why_not` says in one sentence why a method does not apply to a network or its data.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...models import Point
from . import cam, gradients, perturb
from .network import cam_head, declared_points, gradcam_layer  # noqa: F401  (re-exported: where each method reads)

INPUT_WORDS = {"image": "images", "plane": "2-D coordinates", "table": "rows of features"}  # a dataset's kind
LAYOUT_WORDS = {"map": "feature maps (channels × height × width)", "tokens": "tokens", "vector": "units"}


@dataclass(frozen=True)
class Method:
    """One attribution method: what its map says, where it comes from, what it needs and how it is computed."""

    name: str  # the key: "saliency", ...
    title: str  # "Saliency": what panels and pickers show
    meaning: str  # what its map says, in one line
    paper: str  # a link to the paper it comes from
    signed: bool  # True: positive speaks for the class, negative against it; False: never negative
    compute: Callable[..., object]  # (model, x (N, *shape), target, *, baseline, steps, window) → (N, *shape)
    layout: str | None = None  # the network needs a point of this layout ("map": feature maps)
    input: str | None = None  # the samples must be of this kind ("image")
    averaged: bool = True  # fast enough to average over hundreds of samples
    default: bool = False  # shown before the student picks methods (the page's first four)
    # (points, "this CNN") → why the network does not suit it, for needs beyond a layout (a head, an activation)
    requires: Callable[[Sequence[Point], str], str | None] | None = None

    def why_not(self, run_or_points, dataset) -> str | None:
        """Why this method does not apply, in one sentence (None: it does). `run_or_points`: a `Run` or its points
        (None for a plain module: layouts unknown, not checked); `dataset`: a `Dataset` or its kind ("image", ...)."""
        points, network = _network(run_or_points)
        model_kind = getattr(run_or_points, "model_kind", None)  # a kind may say why in its own words
        reason = model_kind.skip_reason(f"attribution:{self.name}") if model_kind is not None else None
        if reason:
            return reason
        kind = dataset if isinstance(dataset, str) else dataset.kind
        if self.input and kind != self.input:
            return f"{self.title} needs {INPUT_WORDS[self.input]}, and these samples are {INPUT_WORDS.get(kind, kind)}."
        if self.layout and points is not None and not any(p.layout == self.layout for p in points):
            return f"{self.title} needs a layer of {LAYOUT_WORDS[self.layout]}, and {network} has none."
        if self.requires and points is not None:
            return self.requires(points, network)
        return None


def _network(run_or_points) -> tuple[Sequence[Point] | None, str]:
    """The points of a `Run` (or the points given) and the network in words ("this MLP")."""
    if run_or_points is None or isinstance(run_or_points, Sequence):
        return run_or_points, "this network"
    kind = run_or_points.model_kind
    return run_or_points.points(), f"this {kind.title}" if kind else "this network"


def _needs_gap_head(points, network) -> str | None:
    if cam_head(points) is None:
        return (
            f"CAM needs global average pooling right before the output layer, and {network} has none "
            "(train a CNN with the head 'gap' and no dense layers)."
        )
    return None


def _attends(points) -> bool:
    """The network mixes tokens by attention (a ViT): softmax weights times values, layer norms, GELUs."""
    return any(p.layout == "attention" for p in points)


def _needs_relu(points, network) -> str | None:
    used = sorted({p.activation for p in points if p.activation})
    if used and "relu" not in used:
        return f"Guided backpropagation changes how gradients pass ReLUs, and {network} uses {', '.join(used)}."
    if _attends(points):
        return (
            f"Guided backpropagation changes how gradients pass ReLUs, and {network} has none (its blocks use GELU), "
            "so its map would be the plain gradient."
        )
    return None


DEEPLIFT_ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")  # those captum's DeepLift has a rule for


def _deeplift_rules(points, network) -> str | None:
    missing = sorted({p.activation for p in points if p.activation and p.activation not in DEEPLIFT_ACTIVATIONS})
    if missing:
        return f"DeepLift has no rule for {', '.join(missing).upper()}, which {network} uses."
    if _attends(points):
        return (
            f"DeepLift has no rule for attention (softmax weights multiplied by values), layer norm or GELU, which "
            f"{network} uses: its shares would not add up to the score's difference from the baseline."
        )
    return None


def _lrp_rules(points, network) -> str | None:
    if _attends(points):
        return (
            f"LRP here has rules for dense, convolution, pooling and batch-norm layers between ReLUs, and {network} "
            "mixes tokens by attention, with layer norms and GELUs."
        )
    used = sorted({p.activation for p in points if p.activation} - {"relu"})
    if used:
        return f"LRP here passes relevance through ReLUs only, and {network} uses {', '.join(used)}."
    return None


METHODS = {  # the order is the page's
    m.name: m
    for m in (
        Method(
            "saliency",
            "Saliency",
            "how much a small change of each input value would move the score (|gradient|)",
            "https://arxiv.org/abs/1312.6034",
            False,
            gradients.saliency,
            default=True,
        ),
        Method(
            "integrated_gradients",
            "Integrated gradients",
            "each input value's share of the score's rise from the baseline to this input",
            "https://arxiv.org/abs/1703.01365",
            True,
            gradients.integrated_gradients,
            default=True,
        ),
        Method(
            "grad_cam",
            "Grad-CAM",
            "where in the last convolution's feature maps the evidence for the class sits",
            "https://arxiv.org/abs/1610.02391",
            False,
            gradients.grad_cam,
            layout="map",
            default=True,
        ),
        Method(
            "occlusion",
            "Occlusion",
            "how much the score drops when a patch of the input is covered by the baseline",
            "https://arxiv.org/abs/1311.2901",
            True,
            gradients.occlusion,
            input="image",
            averaged=False,  # one forward pass per patch position: too slow for hundreds of samples
            default=True,
        ),
        Method(
            "smoothgrad",
            "SmoothGrad",
            "saliency averaged over 16 noisy copies of the input, so one pixel's jitter does not dominate (the "
            "noise's spread is 15% of the value range of the whole batch of inputs, the same for each, not of each "
            "input's own range)",
            "https://arxiv.org/abs/1706.03825",
            False,
            gradients.smoothgrad,
        ),
        Method(
            "interior_gradients",
            "Interior gradients",
            "the gradient at dimmed copies α·x of the input (α from near 0 to 1; images dim toward black), shown at "
            "the α where the score climbs fastest, and as a strip over α below: a gradient that has gone flat at the "
            "full input often still points at the evidence on the way there (the forerunner of integrated gradients)",
            "https://arxiv.org/abs/1611.02639",
            True,
            gradients.interior_gradients,
        ),
        Method(
            "guided_backprop",
            "Guided backpropagation",
            "the gradient with every negative signal stopped at each ReLU on the way back: edges the class likes",
            "https://arxiv.org/abs/1412.6806",
            True,
            gradients.guided_backprop,
            requires=_needs_relu,
        ),
        Method(
            "input_x_gradient",
            "Input × gradient",
            "each input value times the score's gradient: for a linear model, exactly its term of the score",
            "https://arxiv.org/abs/1605.01713",
            True,
            gradients.input_x_gradient,
        ),
        Method(
            "deeplift",
            "DeepLift",
            "each input value's share of the score's difference from the baseline, passed back layer by layer",
            "https://arxiv.org/abs/1704.02685",
            True,
            gradients.deeplift,
            requires=_deeplift_rules,
        ),
        Method(
            "lrp",
            "LRP",
            "the score passed back layer by layer, each unit's relevance split among its inputs in proportion to "
            "their contributions (epsilon rule; gamma rule, favouring positive contributions, for convolutions); "
            "biases keep a share, so the map adds up to the score less what they took",
            "https://doi.org/10.1371/journal.pone.0130140",
            True,
            gradients.lrp,
            requires=_lrp_rules,
        ),
        Method(
            "lime",
            "LIME",
            "the weights of a linear model fitted to the score on copies with patches or features switched off",
            "https://arxiv.org/abs/1602.04938",
            True,
            perturb.lime,
            averaged=False,  # hundreds of forward passes and a fit per sample
        ),
        Method(
            "kernel_shap",
            "KernelSHAP",
            "each patch's or feature's Shapley value: its fair share of the score's difference from the baseline",
            "https://arxiv.org/abs/1705.07874",
            True,
            perturb.kernel_shap,
            averaged=False,
        ),
        Method(
            "cam",
            "CAM",
            "the output layer's weights of the class applied to the last feature maps, where a GAP head reads them",
            "https://arxiv.org/abs/1512.04150",
            False,
            cam.cam,
            layout="map",
            requires=_needs_gap_head,
        ),
        Method(
            "grad_cam_pp",
            "Grad-CAM++",
            "Grad-CAM with each position's gradient weighted by higher derivatives: several objects each count",
            "https://arxiv.org/abs/1710.11063",
            False,
            cam.grad_cam_pp,
            layout="map",
        ),
    )
}
DEFAULTS = tuple(name for name, m in METHODS.items() if m.default)  # the four the page starts with


def find_method(name: str) -> Method:
    """The table's entry for `name`; ValueError naming the choices for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"Unknown attribution method {name!r}; choose one of {', '.join(METHODS)}")
    return METHODS[name]


def reasons(run_or_points, dataset) -> dict[str, str | None]:
    """Every method's `why_not` for this network and data, in the table's order (None: it applies)."""
    return {name: m.why_not(run_or_points, dataset) for name, m in METHODS.items()}
