"""Which maps can you trust? The model randomisation check of Adebayo et al. 2018 ("Sanity checks for saliency maps").

Stage: analysis, after `records`. On a copy of the network (the original is never touched) the layers with weights
are re-initialised from the top down, one more at each step (the cascading test); after each step every chosen
method's map of the same input is recomputed and compared with the trained network's map by rank correlation. A map
that barely changes while the weights become noise shows the input more than what the network learned.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .records import attribute_batch, baseline, baseline_words, feature_names
from .table import METHODS

LITTLE = 0.5  # rank correlation with the trained map still at or above this with every layer random: "changed little"


@dataclass(frozen=True)
class CascadeInfo:
    """Each method's map of one input as the network's layers are randomised from the top down."""

    index: int  # the test sample (-1: an input of your own)
    target: int  # the class whose score is explained
    methods: list[str]  # keys of METHODS, in the table's order
    layers: list[str]  # the layers in the order they are randomised: at step s, layers[:s] are random
    maps: np.ndarray  # (S + 1, M, H, W) for images (channels summed), (S + 1, M, F) for features; step 0: trained
    correlation: np.ndarray  # (S + 1, M): rank correlation of |map| with step 0's (NaN: the map went flat)
    image: np.ndarray | None  # the input as uint8 for images
    features: list[str]  # the input's feature names ([] for images)
    baseline: str  # the "nothing here" input, in words

    def changed_little(self, threshold: float = LITTLE) -> list[str]:
        """The methods whose map still ranks the input's parts alike with every layer randomised."""
        if len(self.layers) == 0:
            return []
        end = self.correlation[-1]
        return [m for m, r in zip(self.methods, end, strict=True) if np.isfinite(r) and r >= threshold]

    def words(self) -> str:
        """What the check found, in words: which maps changed little (do not trust them), which changed a lot."""
        if not self.layers:
            return "This network has no layer with weights to randomise."
        titles = {m: METHODS[m].title for m in self.methods}
        little = self.changed_little()
        flat = [titles[m] for m, r in zip(self.methods, self.correlation[-1], strict=True) if not np.isfinite(r)]
        moved = [titles[m] for m in self.methods if m not in little and titles[m] not in flat]
        said = []
        if little:
            said.append(
                f"**{_join([titles[m] for m in little])} changed little**: with all {len(self.layers)} layers "
                f"randomised {'its' if len(little) == 1 else 'their'} map still ranks the input's parts alike "
                f"(rank correlation ≥ {LITTLE}), so {'it shows' if len(little) == 1 else 'they show'} the input more "
                f"than what the network learned. Trust {'it' if len(little) == 1 else 'them'} less."
            )
        if moved:
            said.append(
                f"{_join(moved)} changed a lot as the weights turned to noise: "
                f"{'it depends' if len(moved) == 1 else 'they depend'} on what the network learned, as a map should."
            )
        if flat:
            said.append(f"{_join(flat)} went blank: nothing in the random network speaks for the class.")
        return " ".join(said)


def _join(words: Sequence[str]) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


MAX_LAYERS = 24  # a network with more layers of weights is randomised block by block (its top-level modules)


def _own_weights(m: nn.Module) -> bool:
    return any(True for _ in m.parameters(recurse=False))


def cascade_layers(model: nn.Module) -> list[str]:
    """The modules that hold weights of their own, from the output down: the cascade's order. A network with more
    than MAX_LAYERS of them (EfficientNet-Lite0 has 131) goes block by block, as Adebayo et al. did with Inception:
    its top-level modules that hold weights, each randomised whole."""
    if _blockwise(model):
        return [name for name, m in model.named_children() if any(True for _ in m.parameters())][::-1]
    return [name for name, m in model.named_modules() if name and _own_weights(m)][::-1]


def _blockwise(model: nn.Module) -> bool:
    return sum(1 for name, m in model.named_modules() if name and _own_weights(m)) > MAX_LAYERS


def _randomise(module: nn.Module, seed: int, *, whole: bool = False) -> None:
    """Re-initialise `module` (`whole`: every module inside it that holds weights) as when it was built (seeded;
    torch's global random state is left as it was)."""
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        torch.manual_seed(seed)
        for m in module.modules() if whole else [module]:
            if not _own_weights(m):
                continue
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
            else:  # a parameter of a custom module: noise of its own scale
                for p in m.parameters(recurse=False):
                    p.normal_(0.0, float(p.std()) if p.numel() > 1 else 0.02)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of |a| and |b| (flattened), as Adebayo et al. compare maps; NaN if one is constant."""
    from scipy.stats import rankdata

    ra, rb = rankdata(np.abs(a).ravel()), rankdata(np.abs(b).ravel())
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _summed(values: np.ndarray) -> np.ndarray:
    return values.sum(axis=0) if values.ndim == 3 else values  # an image's channels summed


def randomisation_cascade(
    model: nn.Module,
    x: torch.Tensor,
    target: int,
    methods: Sequence[str],
    *,
    baseline: torch.Tensor | None = None,
    steps: int = 32,
    window: int = 4,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The cascade for one prepared input `x` `(1, *shape)`: (layers in the order randomised, maps `(S+1, M, ...)`,
    rank correlations `(S+1, M)`). `progress(share done, what)` is told after each step. `model` is not changed."""
    net = copy.deepcopy(model).eval()
    layers, whole = cascade_layers(net), _blockwise(net)

    def maps() -> list[np.ndarray]:
        return [_summed(attribute_batch(net, x, int(target), m, baseline, steps, window)[0]) for m in methods]

    rows = [maps()]
    for s, name in enumerate(layers, 1):
        if progress:
            progress((s - 1) / (len(layers) + 1), f"randomising {name} ({s} of {len(layers)} layers)")
        _randomise(net.get_submodule(name), seed + s, whole=whole)
        rows.append(maps())
    if progress:
        progress(1.0, "done")
    stacked = np.stack([np.stack(r) for r in rows]).astype(np.float32)  # (S+1, M, ...)
    corr = np.array([[rank_correlation(row[j], rows[0][j]) for j in range(len(methods))] for row in rows])
    return layers, stacked, corr.reshape(len(rows), len(methods))


def cascade_info(
    run, k: int, dataset, index: int, target: int, methods: Sequence[str], *, steps=32, window=4, progress=None
) -> CascadeInfo:
    """Snapshot `k` of a `Run`: the randomisation cascade of each of `methods` for test sample `index`, class
    `target` (from the same baseline as the page's maps)."""
    x = dataset.prepare(dataset.x_test[index : index + 1])  # (1, *shape)
    image = dataset.display_images(dataset.x_test[index : index + 1])[0] if dataset.is_image else None
    layers, maps, corr = randomisation_cascade(
        run.model_at(k),
        x,
        target,
        methods,
        baseline=baseline(dataset),
        steps=steps,
        window=window,
        progress=progress,
    )
    return CascadeInfo(
        int(index),
        int(target),
        list(methods),
        layers,
        maps,
        corr,
        image,
        feature_names(dataset),
        baseline_words(dataset),
    )
