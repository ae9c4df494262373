"""Did a finished run learn? A check of its loss curve and final accuracy, with advice in words.

Stage 4→5 of the pipeline: the trainer calls `check_learning` when a run completes and
records the verdict in the manifest (`"did_not_learn": true` and the advice as its
message); the app's training panel shows the same words. Pure: arrays in, a record out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROSE = 1.2  # a loss that ends this many times its start (or more) rose
TYPICAL_LR = {"adam": (1e-4, 1e-2), "sgd": (1e-3, 0.3)}  # where each optimizer usually learns
USUAL_CAUSES = (
    "Other usual causes: inputs on very different scales (standardise them), labels that do not match "
    "the inputs, or too few epochs."
)


@dataclass(frozen=True)
class LearningCheck:
    """The verdict on one finished run."""

    learned: bool  # False: at chance accuracy, or the loss ended above its start, or it blew up on the way
    guessing: bool  # the final accuracy is within a tenth of the way from chance to perfect
    rose: bool  # the loss at the end (mean of the last tenth of steps) is a fifth or more above its start
    exploded: bool  # the loss went above 10× its start on the way
    start_loss: float  # mean of the first fiftieth of the steps (nan without steps)
    end_loss: float  # mean of the last tenth of the steps (nan without steps)
    peak_loss: float  # the largest finite step loss (nan without steps)
    accuracy: float | None  # the final accuracy it was judged on
    chance: float | None  # 1 / classes
    advice: str  # words for the user; "" when it learned


def check_learning(
    loss, accuracy: float | None, n_classes: int, *, lr: float, optimizer: str = "adam"
) -> LearningCheck:
    """Judge a finished run from its per-step losses `(steps,)` and final accuracy (None: unknown).

    Args:
        loss: the training loss of every step (non-finite values are ignored).
        accuracy: the final test (or evaluation) accuracy in [0, 1], or None.
        n_classes: the number of classes (chance accuracy is 1 / n_classes).
        lr, optimizer: the base learning rate and "adam" or "sgd", for the advice.
    Returns: a `LearningCheck`.
    """
    finite = np.asarray(loss, np.float64).ravel()
    finite = finite[np.isfinite(finite)]
    n = len(finite)
    start = float(finite[: max(1, n // 50)].mean()) if n else float("nan")
    end = float(finite[-max(1, n // 10) :].mean()) if n else float("nan")
    peak = float(finite.max()) if n else float("nan")
    chance = 1 / n_classes if n_classes > 1 else None
    guessing = accuracy is not None and chance is not None and accuracy <= chance + 0.1 * (1 - chance)
    rose = n >= 2 and end > ROSE * start  # the margin: one noisy last batch is not a rise
    exploded = n > 10 and peak > 10 * max(start, 0.1)
    learned = not (guessing or rose or exploded)
    words = []
    if guessing:
        words.append(
            f"Test accuracy {accuracy:.0%} is what guessing scores with {n_classes} classes: the network did not learn."
        )
    if rose:
        words.append(f"The loss ended at {end:.3g}, above where it started ({start:.3g}).")
    if exploded:
        words.append(f"The loss jumped from {start:.2g} to {peak:.2g} on the way: each step overshot.")
    if not learned:
        low, high = TYPICAL_LR.get(optimizer, TYPICAL_LR["adam"])
        if rose or exploded or lr > high:
            try_lr = min(lr / 10, high)
            words.append(
                f"The learning rate {lr:g} is probably too large: try {try_lr:g} "
                f"({'Adam' if optimizer == 'adam' else 'SGD'} usually learns between {low:g} and {high:g})"
                + (", or Adam." if optimizer == "sgd" else ".")
            )
        else:
            words.append("Try more epochs, a wider network, or a learning rate 3× larger.")
        words.append(USUAL_CAUSES)
    return LearningCheck(learned, guessing, rose, exploded, start, end, peak, accuracy, chance, " ".join(words))


def did_not_learn(loss, accuracy: float | None, n_classes: int, train) -> str | None:
    """The advice for a run that did not learn, or None if it learned; `train` has `.lr` and `.optimizer`."""
    check = check_learning(loss, accuracy, n_classes, lr=train.lr, optimizer=getattr(train, "optimizer", "adam"))
    return None if check.learned else check.advice
