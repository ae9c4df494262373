"""The facts a lesson's answer may quote: small numbers and names computed from the student's own run.

Stage 6 (lessons), reading stage 4 (a `Run`) with stage 5's analyses. Each fact is a function of a run and
`At` (the snapshot, and the point for the facts about one layer output); `FACTS` is the documented table a
template's fields are checked against. Facts read only what the recorder kept (accuracy, `fire/<point>`,
the confusion matrix, class statistics, epoch metrics, weights), so they cost milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..analysis.classes import class_summary, confused_pairs
from ..analysis.layers import misclassified


@dataclass(frozen=True)
class At:
    """Where a fact is read: a snapshot index (negative counts from the end) and a point name (None: the first
    activated point of the network)."""

    snapshot: int = -1
    point: str | None = None


@dataclass(frozen=True)
class Fact:
    doc: str  # one line for the README and the lesson format's documentation
    fn: Callable  # fn(run, at) -> a number, a name or None


def _k(run, at: At) -> int:
    """The snapshot index `at` names in this run (a number past its end reads its last snapshot)."""
    n = len(run)
    return max(0, min(at.snapshot, n - 1)) if at.snapshot >= 0 else max(0, n + at.snapshot)


def _point(run, at: At) -> str | None:
    if at.point:
        return at.point
    fired = [k[5:] for k in run.snapshot(-1) if k.startswith("fire/")]
    return fired[0] if fired else None


def _fire(run, at: At) -> np.ndarray | None:
    point = _point(run, at)
    t = run.snapshot(_k(run, at)).get(f"fire/{point}") if point else None
    return None if t is None else t.numpy().astype(np.float64)  # (U,) share of samples on which each unit is > 0


def _pair(run, at: At):
    pairs = confused_pairs(run.snapshot(_k(run, at))["confusion"].numpy(), 1)
    return pairs[0] if pairs else None


def _pair_name(run, at: At, which: str) -> str | None:
    pair = _pair(run, at)
    return None if pair is None else run.class_names[getattr(pair, which)]


def _confused_sample(run, at: At) -> int | None:
    pair = _pair(run, at)
    if pair is None:
        return None
    idx, labels = run.eval_set()
    pred = run.snapshot(_k(run, at))["pred"].numpy().reshape(-1)
    hits = idx[(labels == pair.true) & (pred == pair.pred)]
    return int(hits[0]) if len(hits) else None


def _wrong(run, at: At) -> np.ndarray:
    idx, labels = run.eval_set()
    return misclassified(idx, labels, run.snapshot(_k(run, at))["pred"].numpy())


def _right_sample(run, at: At) -> int | None:
    idx, labels = run.eval_set()
    pred = run.snapshot(_k(run, at))["pred"].numpy().reshape(-1)
    right = np.sort(idx[pred == labels])
    return int(right[0]) if len(right) else None


def _separating(run, at: At) -> str | None:
    profile = class_summary(run, _k(run, at)).profile
    first = profile.first_separating()
    return None if first is None else profile.names[first]


def _last_epoch(run, key: str):
    return run.epochs[-1].get(key) if run.epochs else None


def _gap(run, at: At) -> float | None:
    train, test = _last_epoch(run, "train_acc"), _last_epoch(run, "test_acc")
    return None if train is None or test is None else float(train - test)


def _best_test_epoch(run, at: At) -> int | None:
    losses = [(e["test_loss"], e["epoch"]) for e in run.epochs if e.get("test_loss") is not None]
    return int(min(losses)[1]) if losses else None


def _diverged_step(run, at: At) -> int | None:
    """The step whose loss was no longer a number: one after the last step recorded (None unless diverged)."""
    return len(run.steps()["loss"]) + 1 if run.status == "diverged" else None


def _weights(run, k: int) -> list[np.ndarray]:
    snap = run.snapshot(k)
    names = sorted(n for n in snap if n.startswith("param/") and n.endswith(".weight") and snap[n].ndim >= 2)
    return [snap[n].numpy().astype(np.float64) for n in names]


def _first_layer_change(run, at: At) -> float | None:
    """How far the first weight layer moved from its start, relative to its start: ‖W_k − W_0‖ / ‖W_0‖."""
    start = run.snapshot(0)
    names = sorted(
        (n for n in start if n.startswith("param/") and n.endswith(".weight") and start[n].ndim >= 2), key=_order
    )
    if not names:
        return None
    w0 = start[names[0]].numpy().astype(np.float64)
    wk = run.snapshot(_k(run, at))[names[0]].numpy().astype(np.float64)
    return float(np.linalg.norm(wk - w0) / max(np.linalg.norm(w0), 1e-12))


def _order(name: str):
    """Network order of weight names: conv1, dense1, dense2, …, then names without a number (out)."""
    digits = "".join(ch for ch in name.split(".")[0] if ch.isdigit())
    return (0, int(digits), name) if digits else (1, 0, name)


def _backprop(run, at: At):
    """The backward pass of the lesson's sample (the first evaluation sample right at the snapshot) toward its truth."""
    from ..analysis.backprop import run_backprop

    index = _right_sample(run, at)
    if index is None:
        return None
    ds = run.dataset()
    return run_backprop(run, _k(run, at), ds.prepare(ds.x_test[index : index + 1]), int(ds.y_test[index]), index=index)


def _backprop_fact(run, at: At, what: str):
    """One fact of the lesson sample's backward pass, about the first weight layer."""
    from ..analysis.backprop import largest_move, largest_weight_gradient

    record = _backprop(run, at)
    if record is None or not record.weights():
        return None
    first = record.weights()[0]
    grad, move = largest_weight_gradient(record, [first]), largest_move(record, [first])
    point = next((p for p in record.points if p.gate is not None), None)
    return {
        "weight": f"{first.name}[{', '.join(map(str, grad.index))}]",
        "gradient": grad.value,
        "moved": f"{first.name}[{', '.join(map(str, move.index))}]",
        "move": move.value,
        "stopped": None if point is None else len(point.stopped),
        "loss": record.loss,
    }[what]


def _toy(run, at: At):
    """The toy model's superposition measures at the step's snapshot (None for any other network)."""
    from ..analysis.superposition import applies, superposition_info

    return superposition_info(run, _k(run, at)) if applies(run) else None


def _mixed(run, at: At):
    """The most mixed unit of the step's point (its 9 strongest evaluation samples, as the Units page shows them)."""
    from ..analysis.superposition import mixed_unit
    from ..analysis.units import run_unit_table

    point = _point(run, at)
    if point is None or run.model_kind is None:
        return None
    table = run_unit_table(run, _k(run, at), run.dataset(), point)
    return mixed_unit(table.values, table.labels)


def _purity_shares(values: np.ndarray) -> tuple[float, float] | None:
    """(median purity, share over 80% pure) of the columns with a purity (NaN: too rare to say); None if none."""
    values = values[~np.isnan(values)]
    return (float(np.median(values)), float((values >= 0.8).mean())) if len(values) else None


def _neurons(run, at: At):
    """The step's point's neurons' class purity (`nnlab.analysis.features.purity`, as the Features page's)."""
    from ..analysis.features import purity
    from ..analysis.units import run_unit_table

    point = _point(run, at)
    if point is None or run.model_kind is None:
        return None
    table = run_unit_table(run, _k(run, at), run.dataset(), point)
    return _purity_shares(purity(table.values, table.labels, len(run.class_names))[0])


def _features(run, at: At):
    """The newest sparse autoencoder saved on the step's point at the step's snapshot, read over the evaluation
    subset as the Features page reads it: its table, the neurons against its features, and its purest feature's
    dashboard; None when the run has none."""
    from types import SimpleNamespace

    from ..analysis import features, sae
    from ..analysis.units import eval_inputs

    point, k = _point(run, at), _k(run, at)
    entries = [e for e in sae.list_saes(run.folder) if e["point"] == point and e["snapshot"] == k]
    if point is None or not entries:
        return None
    entry = max(entries, key=lambda e: e.get("created", ""))
    model_sae, _ = sae.load_sae(run.folder / sae.FEATURES_DIR / entry["name"])
    ds, model = run.dataset(), run.model_at(k)
    x, idx, labels = eval_inputs(run, ds)
    names = list(run.class_names)
    table = features.feature_table(model, model_sae, x, run.point(point), idx, labels)
    comp = features.neurons_vs_features(table, model_sae, max(len(names), int(labels.max()) + 1))
    pur = np.nan_to_num(comp.feature_purity, nan=-1.0)
    purest = int(np.lexsort((-table.frequency, -pur))[0])  # the purest, the most frequent of equally pure ones
    effect = features.logit_effects(model, model_sae, x, table, run.point(point), features=[purest])
    info = features.feature_info(table, purest, names, effect=None if effect is None else effect[0])
    name = lambda c: names[c] if 0 <= c < len(names) else str(c)  # noqa: E731
    return SimpleNamespace(
        quality=table.quality,
        shares=_purity_shares(comp.feature_purity),
        comp=comp,
        purest=purest,
        sentence=info.sentence,
        split_classes=_and([name(c) for c, _ in comp.neuron_classes]),
        split_features=_and([str(f) for _, f, _ in comp.splitters]),
    )


def _and(words: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def _feature_fact(run, at: At, what):
    found = _features(run, at)
    return None if found is None else what(found)


def _acc(run, k: int) -> float | None:
    acc = run.snapshots[k].get("eval_acc")
    return None if acc is None or acc != acc else float(acc)


FACTS: dict[str, Fact] = {
    # accuracy
    "accuracy": Fact(
        "share of the evaluation samples right at the step's snapshot (0–1)", lambda r, a: _acc(r, _k(r, a))
    ),
    "start_accuracy": Fact("share right at snapshot 0, before any training (0–1)", lambda r, a: _acc(r, 0)),
    "final_accuracy": Fact("test accuracy after the last epoch (0–1)", lambda r, a: r.final_accuracy),
    "snapshot": Fact("the step's snapshot index", lambda r, a: _k(r, a)),
    "step": Fact("the training step of that snapshot", lambda r, a: r.snapshots[_k(r, a)]["step"]),
    "snapshots": Fact("how many snapshots the run has", lambda r, a: len(r)),
    # one point (the step's `point`)
    "point": Fact("the point the layer facts are about (the step's `point`, else the first activated one)", _point),
    "zeros": Fact(
        "share of the point's values at or below zero over the evaluation samples (after ReLU: exact zeros; 0–1)",
        lambda r, a: None if (f := _fire(r, a)) is None else float(1 - f.mean()),
    ),
    "dead": Fact(
        "units of the point that were above zero on no evaluation sample (dead units)",
        lambda r, a: None if (f := _fire(r, a)) is None else int((f <= 0).sum()),
    ),
    "units": Fact("units (or channels) of the point", lambda r, a: None if (f := _fire(r, a)) is None else len(f)),
    "dead_share": Fact(
        "share of the point's units that are dead (0–1)",
        lambda r, a: None if (f := _fire(r, a)) is None else float((f <= 0).mean()),
    ),
    # classes
    "confused_true": Fact("the true class of the most frequent mistake", lambda r, a: _pair_name(r, a, "true")),
    "confused_pred": Fact("the class it is taken for", lambda r, a: _pair_name(r, a, "pred")),
    "confused_share": Fact(
        "share of the true class's samples taken for it (0–1)",
        lambda r, a: None if (p := _pair(r, a)) is None else p.share,
    ),
    "confused_count": Fact("how many samples that is", lambda r, a: None if (p := _pair(r, a)) is None else p.count),
    "confused_sample": Fact("test index of the first sample of that mistake", _confused_sample),
    "misclassified": Fact("evaluation samples wrong at the snapshot", lambda r, a: len(_wrong(r, a))),
    "misclassified_sample": Fact(
        "test index of the first evaluation sample wrong at the snapshot",
        lambda r, a: int(w[0]) if len(w := _wrong(r, a)) else None,
    ),
    "right_sample": Fact("test index of the first evaluation sample right at the snapshot", _right_sample),
    "separating_layer": Fact("the first point where the classes stand apart (separability ≥ 1)", _separating),
    # training
    "status": Fact("complete, stopped, diverged, …", lambda r, a: r.status),
    "message": Fact(
        "the app's own words about the run (why it diverged, or did not learn); '' if none", lambda r, a: r.message
    ),
    "diverged_step": Fact(
        "the step at which the loss stopped being a number (none if it did not diverge)", _diverged_step
    ),
    "epochs": Fact("epochs completed", lambda r, a: len(r.epochs)),
    "train_accuracy": Fact("training accuracy in the last epoch (0–1)", lambda r, a: _last_epoch(r, "train_acc")),
    "test_accuracy": Fact("test accuracy after the last epoch (0–1)", lambda r, a: _last_epoch(r, "test_acc")),
    "gap": Fact("train/test gap: training minus test accuracy in the last epoch (0–1)", _gap),
    "train_loss": Fact("training loss in the last epoch", lambda r, a: _last_epoch(r, "train_loss")),
    "test_loss": Fact("test loss after the last epoch", lambda r, a: _last_epoch(r, "test_loss")),
    "best_test_epoch": Fact("the epoch with the lowest test loss", _best_test_epoch),
    "best_test_loss": Fact(
        "the lowest test loss of any epoch",
        lambda r, a: min((e["test_loss"] for e in r.epochs if e.get("test_loss") is not None), default=None),
    ),
    "first_layer_change": Fact("‖W − W₀‖ / ‖W₀‖ of the first weight layer at the snapshot", _first_layer_change),
    "weight_norm": Fact(
        "size (norm) of all weight matrices together at the snapshot",
        lambda r, a: float(np.sqrt(sum((w**2).sum() for w in _weights(r, _k(r, a))))),
    ),
    "lr": Fact("the learning rate", lambda r, a: r.train_config.lr),
    # one sample's backward pass (nnlab.analysis.backprop): the first evaluation sample right at the snapshot
    "backprop_weight": Fact(
        "the first-layer weight with the largest gradient for that sample, as dense1.weight[unit, input]",
        lambda r, a: _backprop_fact(r, a, "weight"),
    ),
    "backprop_gradient": Fact("that weight's gradient", lambda r, a: _backprop_fact(r, a, "gradient")),
    "backprop_moved": Fact(
        "the first-layer weight the optimizer's one-sample step moves most", lambda r, a: _backprop_fact(r, a, "moved")
    ),
    "backprop_move": Fact("how far that step moves it", lambda r, a: _backprop_fact(r, a, "move")),
    "backprop_stopped": Fact(
        "units of the first activated layer whose gate stopped that sample's gradient",
        lambda r, a: _backprop_fact(r, a, "stopped"),
    ),
    "backprop_loss": Fact("that sample's loss", lambda r, a: _backprop_fact(r, a, "loss")),
    "run_id": Fact("the run's id (for a page's link parameters)", lambda r, a: r.id),
    # the toy model of superposition (nnlab.analysis.superposition); none for other networks
    "features_represented": Fact(
        "toy model: features whose direction ‖Wᵢ‖ is at least 0.5 at the snapshot",
        lambda r, a: None if (t := _toy(r, a)) is None else t.n_represented,
    ),
    "features_superposed": Fact(
        "toy model: represented features that share their direction with others (Σ(Ŵᵢ·Wⱼ)² ≥ 0.1‖Wᵢ‖²)",
        lambda r, a: None if (t := _toy(r, a)) is None else t.n_superposed,
    ),
    "toy_features": Fact("toy model: its features n", lambda r, a: None if (t := _toy(r, a)) is None else t.n_features),
    "toy_dims": Fact("toy model: its hidden dimensions m", lambda r, a: None if (t := _toy(r, a)) is None else t.dims),
    # one unit, several classes: the step's point, its 9 strongest evaluation samples per unit (the Units page's)
    "mixed_unit": Fact(
        "the live unit of the point whose 9 strongest samples span the most classes",
        lambda r, a: None if (m := _mixed(r, a)) is None else m.unit,
    ),
    "mixed_unit_classes": Fact(
        "how many classes its 9 strongest samples span", lambda r, a: None if (m := _mixed(r, a)) is None else m.classes
    ),
    # a sparse autoencoder on the step's point (nnlab.analysis.features): the newest saved at the step's snapshot
    "neuron_purity": Fact(
        "median class purity of the point's neurons: the share of a neuron's strongest responses from its most "
        "common class (0–1)",
        lambda r, a: None if (n := _neurons(r, a)) is None else n[0],
    ),
    "pure_neurons": Fact(
        "share of the point's neurons over 80% pure (0–1)", lambda r, a: None if (n := _neurons(r, a)) is None else n[1]
    ),
    "feature_purity": Fact(
        "median class purity of the SAE's live features (0–1)",
        lambda r, a: _feature_fact(r, a, lambda f: None if f.shares is None else f.shares[0]),
    ),
    "pure_features": Fact(
        "share of the SAE's live features over 80% pure (0–1)",
        lambda r, a: _feature_fact(r, a, lambda f: None if f.shares is None else f.shares[1]),
    ),
    "sae_variance_explained": Fact(
        "share of the point's variance the SAE rebuilds, over the evaluation samples (0–1)",
        lambda r, a: _feature_fact(r, a, lambda f: f.quality.variance_explained),
    ),
    "sae_active": Fact("SAE features active per sample (L0)", lambda r, a: _feature_fact(r, a, lambda f: f.quality.l0)),
    "sae_dead": Fact(
        "share of the SAE's features that never fire (0–1)", lambda r, a: _feature_fact(r, a, lambda f: f.quality.dead)
    ),
    "split_neuron": Fact("the point's least pure neuron", lambda r, a: _feature_fact(r, a, lambda f: f.comp.neuron)),
    "split_classes": Fact(
        'its main classes, as words ("3, 5 and 8")', lambda r, a: _feature_fact(r, a, lambda f: f.split_classes)
    ),
    "split_features": Fact(
        'the SAE\'s features that carry it on each of those classes ("41, 88 and 203")',
        lambda r, a: _feature_fact(r, a, lambda f: f.split_features),
    ),
    "purest_feature": Fact(
        "the SAE's purest live feature (the most frequent of equally pure ones)",
        lambda r, a: _feature_fact(r, a, lambda f: f.purest),
    ),
    "purest_sentence": Fact(
        "that feature's sentence, as the Features page writes it",
        lambda r, a: _feature_fact(r, a, lambda f: f.sentence),
    ),
    "mixed_unit_purity": Fact(
        "share of those 9 from its most common class (0–1)",
        lambda r, a: None if (m := _mixed(r, a)) is None else m.purity,
    ),
}


def fact(name: str, run, at: At = At()):
    """The value of fact `name` for `run` at `at`; KeyError for a name not in `FACTS`."""
    return FACTS[name].fn(run, at)
