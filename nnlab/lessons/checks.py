"""Checks: did the student do what a step asked? Each one reads a `View` of what the app shows now.

Stage 6 (lessons). The app (appkit/frame/lesson.py) fills a `View` from its session and address on every rerun: the
page, the run and snapshot, the page's link parameters and a few widget values; a check is a pure function of
it, so it is tested without Streamlit. A step's `check` is a name from `CHECKS`, or a table: `{ param = "layer",
is = "dense1" }` (a link parameter has that value) or `{ run = "wide" }` (that preset's run is the current one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ..analysis.layers import misclassified


@dataclass(frozen=True)
class View:
    """What the student sees now."""

    page: str = ""  # the page's name (app_pages/<page>.py), "" before the router has run
    run: object = None  # the current `Run`, or None
    snapshot: int | None = None  # the training-time slider's position
    params: Mapping[str, str] = field(default_factory=dict)  # the address's parameters (the page's choices)
    values: Mapping[str, object] = field(default_factory=dict)  # widget values: "lr", "lr_default"
    runs: Mapping[str, str] = field(default_factory=dict)  # preset name → run id, of the presets trained so far
    setup_snapshot: int | None = None  # where the step's setup put the slider

    @property
    def last(self) -> int | None:
        return len(self.run) - 1 if self.run is not None and len(self.run) else None


def _sample(view: View) -> int | None:
    try:
        return int(view.params.get("sample"))
    except (TypeError, ValueError):
        return None


def _wrong_sample(view: View) -> bool:
    """A test sample the network gets wrong at this snapshot is open in the walk-through or attribution."""
    if view.page not in ("walkthrough", "attribution") or view.run is None or view.snapshot is None:
        return False
    if (index := _sample(view)) is None:
        return False
    idx, labels = view.run.eval_set()
    return index in set(misclassified(idx, labels, view.run.snapshot(view.snapshot)["pred"].numpy()).tolist())


def _features_trained(view: View) -> bool:
    """A sparse autoencoder is saved in the current run (trained on the Features page)."""
    if view.run is None:
        return False
    from ..analysis.sae import list_saes

    return bool(list_saes(view.run.folder))


@dataclass(frozen=True)
class Check:
    doc: str  # what the student is asked to do, in words (shown while the check waits)
    fn: Callable[[View], bool]
    slider: bool = False  # it asks for the training-time slider: the step shows one in its box


CHECKS: dict[str, Check] = {
    "snapshot_start": Check(
        "move the training-time slider to the start (snapshot 0)", lambda v: v.snapshot == 0, slider=True
    ),
    "snapshot_end": Check(
        "move the training-time slider to the end",
        lambda v: v.snapshot is not None and v.snapshot == v.last,
        slider=True,
    ),
    "snapshot_moved": Check(
        "move the training-time slider",
        lambda v: v.snapshot is not None and v.setup_snapshot is not None and v.snapshot != v.setup_snapshot,
        slider=True,
    ),
    "misclassified_sample": Check("open a sample the network gets wrong", _wrong_sample),
    "features_trained": Check("train a sparse autoencoder on the Features page", _features_trained),
    "lr_changed": Check(
        "change the learning rate on the Train page",
        lambda v: v.values.get("lr") is not None and v.values.get("lr") != v.values.get("lr_default"),
    ),
}


def describe(check) -> str:
    """The check in words, for a step's "to do" line."""
    if isinstance(check, str):
        return CHECKS[check].doc
    if "param" in check:
        return f"choose {check['is']} for the page's {check['param']}"
    return f"make the run of preset {check['run']!r} the current run"


def passed(check, view: View) -> bool:
    """Whether `check` (a name from CHECKS or a table, validated when the lesson was loaded) holds for `view`."""
    if check is None:
        return True
    if isinstance(check, str):
        return bool(CHECKS[check].fn(view))
    if "param" in check:
        return str(view.params.get(check["param"])) == str(check["is"])
    run_id = view.runs.get(check["run"])
    return run_id is not None and view.run is not None and view.run.id == run_id
