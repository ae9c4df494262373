"""Building blocks shared by the MLP and the CNN: activations, the sequential `Net`, the dense stack.

A `Net` is an `nn.Sequential` whose children carry the points' names (`dense1`, `relu1`, ...), so its
state dict keys (`dense1.weight`) are the ones every run on disk has used since the first release.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from torch import nn

from .points import Point

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}
MAX_WIDTH = 65_536  # the widest layer a form or command line may ask for (the parameter budget bounds the rest)


class Net(nn.Sequential):
    """Sequential network whose children are named points; forward returns logits."""

    def __init__(self, config, layers: OrderedDict):
        super().__init__(layers)
        self.config = config

    def points(self) -> list[Point]:
        from .points import layer_points

        return layer_points(self)


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def check_common(cfg) -> None:
    """The checks every classifier config shares: shape, classes, widths, activation, dropout."""
    if not cfg.input_shape or any(not isinstance(s, int) or s < 1 for s in cfg.input_shape):
        raise ValueError(f"The input shape must be positive whole numbers; got {cfg.input_shape}")
    if not isinstance(cfg.n_classes, int) or cfg.n_classes < 2:
        raise ValueError(f"A classifier needs at least 2 classes; got {cfg.n_classes}")
    for what, widths in (("hidden width", cfg.hidden), *((("channel count", getattr(cfg, "channels", ())),))):
        bad = [w for w in widths if not isinstance(w, int) or not 1 <= w <= MAX_WIDTH]
        if bad:
            raise ValueError(f"Every {what} must be a whole number from 1 to {MAX_WIDTH:,}; got {bad[0]!r}")
    if cfg.activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {cfg.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not 0.0 <= cfg.dropout < 1.0:
        raise ValueError(f"Dropout is a probability from 0 to below 1; got {cfg.dropout}")


# A network's plan: its children in order, each with a factory for its module and the point it is (or None).
# Declaring points reads the plan without calling a factory, so it costs nothing and draws no random numbers.
Plan = list[tuple[str, Callable[[], nn.Module], Point | None]]


def step(plan: Plan, name: str, make: Callable[[], nn.Module], role: str | None, layer: int, **point) -> None:
    """Add one child to `plan`; a role makes it a point named like the child."""
    plan.append((name, make, Point(name, role, layer, module=name, **point) if role else None))


def dense_stack(plan: Plan, cfg, width: int, first: int) -> None:
    """Add `cfg.hidden` dense layers (each: dense, [bn], activation, [dropout]) and `out` to `plan`."""
    act, i = cfg.activation, first
    for hid in cfg.hidden:
        i += 1
        step(plan, f"dense{i}", lambda w=width, h=hid: nn.Linear(w, h), "raw", i)
        if cfg.batch_norm:
            step(plan, f"bn{i}", lambda h=hid: nn.BatchNorm1d(h), "norm", i)
        step(plan, f"{act}{i}", lambda: activation(act), "activated", i, activation=act)
        if cfg.dropout:  # not a point: it equals its input in eval mode
            step(plan, f"drop{i}", lambda: nn.Dropout(cfg.dropout), None, i)
        width = hid
    step(plan, "out", lambda w=width: nn.Linear(w, cfg.n_classes), "logits", i + 1)


def plan_points(plan: Plan) -> list[Point]:
    """The plan's points in order, then the softmax of the output."""
    points = [p for _, _, p in plan if p is not None]
    return points + [Point("softmax", "probs", points[-1].layer)]


def build_plan(cfg, plan: Plan) -> Net:
    return Net(cfg, OrderedDict((name, make()) for name, make, _ in plan))
