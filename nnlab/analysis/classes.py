"""Class averages: what each class looks like inside the network, where classes separate, what is confused.

Stage: run (the recorder's per-class statistics `mean/<point>`, `std/<point>` and `confusion`
of one snapshot) → analysis → `nnlab.figures.classes`. Pure: arrays in, small records out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models import Point
from .layers import NON_NEGATIVE

SEPARATE = 1.0  # a point "separates" the classes when the spread between class means exceeds the spread within


@dataclass(frozen=True)
class ClassMeans:
    """Per-class mean and spread of one point's output over the evaluation subset."""

    name: str  # point name, "dense1", "relu1", ...
    role: str  # "raw", "activated", ...
    layer: int
    mean: np.ndarray  # (K, U): class × unit (conv points: × channel)
    std: np.ndarray  # (K, U)
    signed: bool  # True: draw on a diverging scale centred on zero
    per_channel: bool = False  # True for conv points: each unit is a channel, averaged over positions

    @property
    def unit_word(self) -> str:
        return "channel" if self.per_channel else "unit"


@dataclass(frozen=True)
class PairDifference:
    """Two classes' mean outputs at one point, and their difference."""

    name: str
    a: int
    b: int
    mean_a: np.ndarray  # (U,)
    mean_b: np.ndarray  # (U,)
    diff: np.ndarray  # (U,) mean_a - mean_b


@dataclass(frozen=True)
class Separability:
    """One number per point for how far apart the classes are (between-class / within-class spread)."""

    names: tuple[str, ...]  # "input" first when known, then the points in network order
    ratio: np.ndarray  # (P,)

    def first_separating(self, threshold: float = SEPARATE) -> int | None:
        """Position of the first point (after the input) whose ratio reaches `threshold`; None if none does."""
        start = 1 if self.names and self.names[0] == "input" else 0
        hits = [i for i in range(start, len(self.ratio)) if self.ratio[i] >= threshold]
        return hits[0] if hits else None


@dataclass(frozen=True)
class SeparabilityHistory:
    """The separability of every point at every snapshot."""

    names: tuple[str, ...]  # points in network order
    epochs: np.ndarray  # (S,) epoch of each snapshot
    ratio: np.ndarray  # (P, S)


@dataclass(frozen=True)
class ConfusedPair:
    """How often samples of class `true` were predicted as class `pred`."""

    true: int
    pred: int
    count: int  # samples of class `true` predicted as `pred`
    total: int  # samples of class `true`

    @property
    def share(self) -> float:
        return self.count / self.total if self.total else 0.0


def class_means(means: dict, stds: dict, points: list[Point]) -> list[ClassMeans]:
    """Per-class statistics of every recorded point, in network order (softmax included when recorded)."""
    out = []
    for p in points:
        if p.name not in means:
            continue
        signed = not (p.role == "probs" or (p.role in ("activated", "pooled") and p.activation in NON_NEGATIVE))
        m = np.asarray(means[p.name], dtype=np.float32)
        s = np.asarray(stds[p.name], dtype=np.float32)
        out.append(ClassMeans(p.name, p.role, p.layer, m, s, signed, per_channel=p.layout == "map"))
    return out


@dataclass(frozen=True)
class ClassSummary:
    """What the Class averages and Compare runs pages read from one snapshot."""

    stats: list[ClassMeans]  # every recorded point, in network order
    confusion: np.ndarray  # (K, K) true × predicted counts over the evaluation subset
    pred: np.ndarray  # (N,) the predicted class of each evaluation sample
    profile: Separability  # where the classes come apart ("input" first when its ratio was given)


def class_summary(run, k: int, input_ratio: float | None = None) -> ClassSummary:
    """Snapshot `k` of a `Run`: its per-class statistics, confusion matrix, predictions and separability."""
    snap = run.snapshot(k)
    stats = class_means(run.group(k, "mean"), run.group(k, "std"), run.points())
    confusion = snap["confusion"].numpy()
    return ClassSummary(
        stats, confusion, snap["pred"].numpy(), separability_profile(stats, confusion.sum(1), input_ratio)
    )


def input_separability(run, dataset) -> float:
    """The separability of the run's evaluation inputs themselves, as the network sees them (normalised)."""
    idx, labels = run.eval_set()
    return sample_separability(dataset.prepare(dataset.x_test[idx]).numpy(), labels, dataset.n_classes)


def separability_at(run, k: int, input_ratio: float | None = None, *, points=None) -> Separability:
    """The separability of every point at snapshot `k` of a `Run` (`points`: the run's, if already worked out)."""
    stats = class_means(run.group(k, "mean"), run.group(k, "std"), run.points() if points is None else points)
    return separability_profile(stats, run.snapshot(k)["confusion"].numpy().sum(1), input_ratio)


def separability_over_training(run, input_ratio: float | None = None, *, at=None) -> SeparabilityHistory:
    """The separability of every point at every snapshot of a `Run` (each snapshot read once).

    `at(k)` gives one snapshot's profile (default `separability_at`): a page following a training passes a
    per-snapshot cache, since a written snapshot never changes."""
    if at is None:
        points = run.points()

        def at(k):
            return separability_at(run, k, input_ratio, points=points)

    return separability_history([at(k) for k in range(len(run))], [s["epoch"] for s in run.snapshots])


@dataclass(frozen=True)
class ClassLearning:
    """Each class's accuracy over the evaluation subset at every snapshot, from the recorded predictions."""

    epochs: np.ndarray  # (T,) epoch of each snapshot
    accuracy: np.ndarray  # (K, T) share of each class's evaluation samples predicted right; NaN for an empty class
    learned_at: np.ndarray  # (K,) epoch at which each class first reached LEARNED (NaN: not yet)


LEARNED = 0.9  # a class counts as learned once this share of its evaluation samples is right


def class_accuracy_at(run, t: int, labels: np.ndarray) -> np.ndarray:
    """(K,) each class's share of its evaluation samples predicted right at snapshot `t` (NaN: an empty class)."""
    k = len(run.class_names) or int(labels.max()) + 1
    counts = np.bincount(labels, minlength=k).astype(np.float64)
    hits = np.bincount(labels[run.snapshot(t)["pred"].numpy() == labels], minlength=k)
    return np.where(counts > 0, hits / np.maximum(counts, 1), np.nan)


def class_learning(run, *, threshold: float = LEARNED, at=None) -> ClassLearning:
    """Every class's accuracy at every snapshot of a `Run` (predictions `pred` against the evaluation labels).

    `at(t)` gives one snapshot's accuracies (default `class_accuracy_at`; a page passes a per-snapshot cache)."""
    if at is None:
        labels = run.eval_set()[1]

        def at(t):
            return class_accuracy_at(run, t, labels)

    acc = np.stack([at(t) for t in range(len(run))], 1) if len(run) else np.zeros((len(run.class_names), 0))
    epochs = np.asarray([s["epoch"] for s in run.snapshots], np.float64)
    reached = acc >= threshold
    learned = np.where(reached.any(1), epochs[reached.argmax(1)], np.nan)
    return ClassLearning(epochs, acc, learned)


def describe_learning(info: ClassLearning, class_names: list[str], *, threshold: float = LEARNED) -> str:
    """Which classes are learned early and which late, in a sentence ("7 is learned by epoch 1; 8 only at 4.0")."""
    if info.accuracy.size == 0 or len(info.epochs) < 2:
        return "There is only one snapshot: train for longer to see the classes being learned."
    done = [(e, c) for c, e in enumerate(info.learned_at) if not np.isnan(e)]
    todo = [class_names[c] for c, e in enumerate(info.learned_at) if np.isnan(e)]
    share = f"{threshold:.0%} of its samples right"
    if not done:
        return f"No class has reached {share} yet."
    done.sort()
    (e0, first), (e1, last) = done[0], done[-1]
    text = f"**{class_names[first]}** is learned first ({share} by epoch {e0:.1f})"
    if len(done) > 1 and e1 > e0:
        text += f"; **{class_names[last]}** only by epoch {e1:.1f}"
    if todo:
        text += f"; not yet learned: {', '.join(todo[:5])}{' …' if len(todo) > 5 else ''}"
    return text + "."


def pair_difference(cm: ClassMeans, a: int, b: int) -> PairDifference:
    """Class `a`'s and class `b`'s mean outputs at one point and `a - b`."""
    return PairDifference(cm.name, a, b, cm.mean[a], cm.mean[b], cm.mean[a] - cm.mean[b])


def describe_difference(pair: PairDifference, class_names: list[str], unit_word: str = "unit", top: int = 3) -> str:
    """The units that tell the two classes apart most, in one sentence ("" when nothing does)."""
    order = np.argsort(-np.abs(pair.diff))[:top]
    if pair.a == pair.b or not len(order) or np.abs(pair.diff[order[0]]) == 0:
        return ""
    a, b = class_names[pair.a], class_names[pair.b]
    units = ", ".join(f"{u} ({a if pair.diff[u] > 0 else b} higher)" for u in order)
    return f"The {unit_word}s that tell **{a}** from **{b}** most at {pair.name}: {units}."


def unit_order(mean: np.ndarray) -> np.ndarray:
    """Units grouped by the class that drives them most, strongest first within each group."""
    mean = np.asarray(mean)
    if mean.size == 0:
        return np.arange(mean.shape[-1] if mean.ndim else 0)
    z = mean - mean.mean(0, keepdims=True)  # (K, U) how much more a class drives a unit than the average class
    best = np.where(z.max(0) > 0, z.argmax(0), len(mean))  # units that no class drives more go last
    return np.lexsort((-z.max(0), best))


def separability(mean: np.ndarray, std: np.ndarray, counts: np.ndarray) -> float:
    """Between-class over within-class spread, summed over units (Fisher's trace ratio).

    `mean`, `std`: (K, U) per-class mean and standard deviation; `counts`: (K,) samples per class.
    Classes with no sample are left out. 0 when there is no spread at all.
    """
    mean, std, counts = np.asarray(mean, np.float64), np.asarray(std, np.float64), np.asarray(counts, np.float64)
    keep = counts > 0
    if keep.sum() < 2:
        return 0.0
    mean, std, w = mean[keep], std[keep], counts[keep] / counts[keep].sum()
    centre = w @ mean  # (U,)
    between = float(w @ ((mean - centre) ** 2).sum(1))
    within = float(w @ (std**2).sum(1))
    if between <= 1e-12 * (1.0 + within):  # class means equal up to rounding (a ViT's class token before any block)
        return 0.0
    if within <= 0:
        return float("inf") if between > 0 else 0.0
    return between / within


def sample_separability(x: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    """The same ratio computed from samples `x` `(N, ...)` with labels `y` (for the input itself)."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    counts = np.bincount(y, minlength=n_classes)
    mean = np.zeros((n_classes, x.shape[1]))
    std = np.zeros_like(mean)
    for c in range(n_classes):
        if counts[c]:
            mean[c], std[c] = x[y == c].mean(0), x[y == c].std(0)
    return separability(mean, std, counts)


def separability_profile(stats: list[ClassMeans], counts: np.ndarray, input_ratio: float | None = None) -> Separability:
    """The separability of every point of one snapshot, optionally preceded by the input's."""
    names = [s.name for s in stats]
    ratio = [separability(s.mean, s.std, counts) for s in stats]
    if input_ratio is not None:
        names, ratio = ["input", *names], [input_ratio, *ratio]
    return Separability(tuple(names), np.asarray(ratio, np.float64))


def separability_history(profiles: list[Separability], epochs: list[float]) -> SeparabilityHistory:
    """Stack per-snapshot profiles (same points) into a points × snapshots table."""
    if not profiles:
        return SeparabilityHistory((), np.zeros(0), np.zeros((0, 0)))
    names = profiles[0].names
    ratio = np.stack([p.ratio for p in profiles], axis=1)  # (P, S)
    return SeparabilityHistory(names, np.asarray(epochs, np.float64), ratio)


def describe_separation(profile: Separability, threshold: float = SEPARATE) -> str:
    """Where the classes first separate, in one or two plain sentences."""
    if len(profile.ratio) == 0:
        return "There is nothing recorded to compare."
    start = 1 if profile.names[0] == "input" else 0
    first = profile.first_separating(threshold)
    best = start + int(np.argmax(profile.ratio[start:])) if len(profile.ratio) > start else 0
    base = f" (the input itself scores {profile.ratio[0]:.2f})" if start else ""
    if first is None:
        return (
            f"At this snapshot no layer separates the classes yet: the best is **{profile.names[best]}** "
            f"with a ratio of {profile.ratio[best]:.2f}, below {threshold:g}{base}."
        )
    return (
        f"The classes first stand apart at **{profile.names[first]}**: there the spread between the class "
        f"means is {profile.ratio[first]:.2f}× the spread within a class{base}. "
        f"They are furthest apart at **{profile.names[best]}** ({profile.ratio[best]:.2f}×)."
    )


# --- the confusion matrix ------------------------------------------------------------------
def confused_pairs(confusion: np.ndarray, top: int = 5) -> list[ConfusedPair]:
    """The most frequent mistakes (true class, predicted class), by share of the true class's samples."""
    c = np.asarray(confusion, np.int64)
    totals = c.sum(1)
    pairs = [
        ConfusedPair(t, p, int(c[t, p]), int(totals[t]))
        for t in range(c.shape[0])
        for p in range(c.shape[1])
        if t != p and c[t, p] > 0
    ]
    pairs.sort(key=lambda q: (-q.share, -q.count, q.true, q.pred))
    return pairs[:top]


def describe_confusion(confusion: np.ndarray, class_names: list[str], top: int = 5) -> str:
    """Markdown: how many evaluation samples are right, and the most frequent mistakes as a list."""
    acc = np.trace(confusion) / max(confusion.sum(), 1)
    pairs = confused_pairs(confusion, top)
    mistakes = "\n".join(f"- {describe_pair(p, class_names)}" for p in pairs) if pairs else "- none: all are right."
    return (
        f"**{acc:.1%}** of the {confusion.sum()} evaluation samples are right at this snapshot. "
        f"The most frequent mistakes:\n\n{mistakes}"
    )


def describe_pair(pair: ConfusedPair, class_names: list[str]) -> str:
    """'Shirt is taken for T-shirt in 14% of cases (14 of 100).'"""
    return (
        f"{class_names[pair.true]} is taken for {class_names[pair.pred]} in {pair.share:.0%} of cases "
        f"({pair.count} of {pair.total})."
    )


def cell_samples(
    eval_indices: np.ndarray, eval_labels: np.ndarray, pred: np.ndarray, true: int, predicted: int
) -> np.ndarray:
    """Test-split indices of the evaluation samples of class `true` predicted as `predicted` (one cell)."""
    hit = (np.asarray(eval_labels) == true) & (np.asarray(pred).reshape(-1) == predicted)
    return np.asarray(eval_indices)[hit]


def cell_from_selection(selection: dict | None) -> tuple[int, int] | None:
    """(true, predicted) of the confusion-matrix cell in a plotly selection event, or None.

    The clickable layer of `figures.classes.confusion_figure` has one point per cell at
    x = predicted class, y = true class; the event reports the clicked point's x and y.
    """
    points = ((selection or {}).get("selection") or {}).get("points") or []
    for pt in points:
        x, y = pt.get("x"), pt.get("y")
        if isinstance(x, (int, float)) and isinstance(y, (int, float)):
            return int(round(y)), int(round(x))
    return None
