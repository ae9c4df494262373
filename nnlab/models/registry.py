"""The model registry: every kind of network nnlab can build, looked up by the name in a run's manifest.

Stage 2 of the pipeline (data → model → train). A kind is one file in this package (or in your own code):
a frozen config dataclass, a builder registered with `@register_model`, the points it declares, and the
form the Train page shows. Code outside a kind's file never branches on the kind; it asks the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from torch import nn

from ..tasks import CLASSIFICATION
from .point import Point

VIEWS = ("walkthrough", "classes", "attribution", "hidden", "weights", "boundary", "compare", "attention", "units")


@dataclass(frozen=True)
class Field:
    """One setting of a kind's config as the Train page asks for it (appkit draws it; nnlab never imports streamlit)."""

    name: str  # the config field
    label: str  # the widget's label
    widget: str  # "ints" (comma-separated widths), "int" (one whole number), "choice", "slider" (a float), "toggle"
    choices: tuple = ()  # for "choice"
    low: float = 0.0  # for "slider" and "int"
    high: float = 1.0
    step: float = 0.05
    help: str = ""


@dataclass(frozen=True)
class ModelKind:
    """What the registry knows about one kind of network."""

    name: str  # the manifest's model["kind"]: "mlp", "cnn", ...
    config: type  # a frozen dataclass with `input_shape`, `n_classes`, `kind` and a `describe()` method
    build: Callable[..., nn.Module]  # config → module whose forward returns logits (seed torch first)
    declare: Callable[..., list[Point]]  # config → its points in network order (shapes may be left empty)
    title: str = ""  # "MLP", "CNN": what the Train page's choice shows
    help: str = ""  # one sentence: what this kind is
    form: tuple[Field, ...] = ()  # the settings the Train page asks for, in order
    skips: Mapping[str, str] = field(default_factory=dict)  # view → why it does not apply, in one sentence
    task: object = CLASSIFICATION  # what it is trained to do (`nnlab.tasks`): loss, metric, predictions
    # (config, n_classes) → an accumulator with `add(outputs, y)` per evaluation batch and `tensors()` once: per-class
    # statistics the recorder keeps in each snapshot beside its own (a ViT's `attn/...`); None: nothing more
    extra_stats: Callable | None = None
    order: int = 100  # where the kind comes in lists (the Train page's choice, the CLI): lowest first

    def make(self, input_shape: tuple[int, ...], n_classes: int, **values):
        """A config for data of `input_shape` and `n_classes`, with the form's `values` (None: the default).

        Raises ValueError in words for a setting this kind does not have or a value its config refuses.
        """
        given = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if v is not None}
        unknown = sorted(set(given) - {f.name for f in self.form})
        if unknown:
            has = ", ".join(f.name for f in self.form)
            raise ValueError(f"{', '.join(unknown)}: not a setting of the {self.title} (it has {has})")
        return self.config(input_shape=tuple(input_shape), n_classes=n_classes, **given)

    def skip_reason(self, view: str) -> str | None:
        """Why `view` (one of VIEWS) does not apply to this kind, or None when it does."""
        return self.skips.get(view)


_KINDS: dict[str, ModelKind] = {}  # filled at import by the decorators; read-only after


def register_model(
    name: str,
    *,
    config: type,
    points: Callable[..., list[Point]],
    title: str = "",
    help: str = "",
    form: tuple[Field, ...] = (),
    skips: Mapping[str, str] | None = None,
    task=CLASSIFICATION,
    extra_stats: Callable | None = None,
    order: int = 100,
):
    """Decorator: register `build(config) -> nn.Module` as the model kind `name`.

    Example:
        @register_model("mlp", config=MLPConfig, points=mlp_points, title="MLP")
        def build_mlp(config: MLPConfig) -> nn.Module: ...
    """

    def wrap(build):
        _KINDS[name] = ModelKind(
            name, config, build, points, title or name.upper(), help, form, dict(skips or {}), task, extra_stats, order
        )
        return build

    return wrap


def model_kinds() -> dict[str, ModelKind]:
    """Every registered kind by name, by `order` (then registration order): the MLP first, then the CNN, ..."""
    return dict(sorted(_KINDS.items(), key=lambda item: item[1].order))


def model_kind(name: str) -> ModelKind:
    if name not in _KINDS:
        raise ValueError(f"Unknown model kind {name!r}; nnlab knows {', '.join(_KINDS)}")
    return _KINDS[name]


def task_of(model: nn.Module):
    """The task of a network built by `build_model` (`nnlab.tasks`); classification for any other module."""
    kind = _KINDS.get(getattr(getattr(model, "config", None), "kind", None))
    return kind.task if kind is not None else CLASSIFICATION


def build_model(config) -> nn.Module:
    """Build the network a config describes (weights from torch's default init: seed it first).

    The module gets the config as `.config`, so its points and its kind can always be found.
    """
    model = model_kind(config.kind).build(config)
    model.config = config
    return model


def config_from_dict(d: Mapping):
    """The config a run's manifest saved (`dataclasses.asdict`): lists back to tuples; unknown keys refused."""
    d = dict(d)
    kind = model_kind(d.pop("kind", "mlp"))
    names = {f.name for f in fields(kind.config)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"A {kind.title} config has no field {', '.join(map(repr, unknown))}")
    return kind.config(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def describe_model(model: Mapping) -> str:
    """A run's network in a few words ("MLP 128-64 (relu)"), from its manifest's model dict; "custom …" otherwise."""
    try:
        return config_from_dict(model).describe()
    except (ValueError, TypeError, AttributeError):
        return f"custom {model.get('class', '')}".strip() if isinstance(model, Mapping) else "custom"
