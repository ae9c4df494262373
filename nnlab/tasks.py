"""Tasks: what a network is trained to do, asked by the trainer and the recorder instead of the model kind.

Stage 3 of the pipeline (train, record). A model kind names its task (`ModelKind.task`, classification by
default): the loss, the per-step metric, and how the recorder turns one snapshot's evaluation outputs into
class predictions (so accuracy, the confusion matrix and per-class statistics exist for every kind). An
autoencoder reconstructs its input; its predictions come from a nearest-class-mean probe on its code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
from torch.nn import functional

Kept = dict[str, torch.Tensor]  # what the recorder keeps of one evaluation batch, on the CPU, batch axis first


@dataclass(frozen=True)
class Metric:
    """A task's per-step metric: its key, its name in words and which way is better (job events carry it)."""

    key: str = "acc"  # the per-step metric's key and the suffix of the epoch metrics (train_acc, test_acc)
    label: str = "accuracy"  # its name on axes and in captions
    short: str = "accuracy"  # its name where room is short (a metric tile)
    higher_is_better: bool = True
    share: bool = True  # a share of the samples in 0..1, drawn as a percentage
    loss: str = "cross-entropy loss"  # the training loss drawn beside it, in words

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict | None) -> Metric:
        """The metric an event or a manifest names; accuracy when it names none (events and runs before names)."""
        if not isinstance(d, dict) or not d.get("key"):
            return ACCURACY
        known = metric_named(str(d["key"]))
        return cls(**{**asdict(known), **{k: v for k, v in d.items() if k in cls.__dataclass_fields__}})


ACCURACY = Metric()
RECONSTRUCTION_ERROR = Metric(
    "error", "reconstruction error (MSE)", "error", False, share=False, loss="MSE (+ KL for a VAE)"
)


def metric_named(key: str) -> Metric:
    """The metric whose key is `key` (a steps file's column): a known one, else a neutral one named by its key."""
    known = {m.key: m for m in (ACCURACY, RECONSTRUCTION_ERROR)}
    words = key.replace("_", " ")
    return known.get(key) or Metric(key, words, words, higher_is_better=True, share=False, loss="loss")


class Classification:
    """The network outputs logits `(N, K)`; trained with cross-entropy; the metric is accuracy."""

    name = "classification"
    metric = ACCURACY.key  # the key of the per-step metric and the suffix of the epoch metrics (train_acc, test_acc)
    metric_info = ACCURACY  # its name in words and which way is better

    def loss(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor, model=None) -> torch.Tensor:
        """Mean cross-entropy of the logits against the labels (`model` is not needed)."""
        return functional.cross_entropy(output, y)

    def score(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
        """The batch's metric summed over its samples: how many it got right."""
        return (output.argmax(1) == y).sum().item()

    def keep(self, outputs: dict[str, torch.Tensor], x: torch.Tensor) -> Kept:
        """What the recorder keeps of one evaluation batch: the predicted class."""
        return {"pred": outputs["softmax"].argmax(1).cpu()}

    def predictions(
        self, kept: Kept, y: torch.Tensor, n_classes: int, reference: Callable[[], tuple[Kept, torch.Tensor]]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The evaluation subset's predicted classes and any extra per-snapshot records (none here)."""
        return kept["pred"], {}


class Reconstruction:
    """The network outputs a reconstruction of its input; trained with the mean squared error (+ a KL term).

    Labels are used only for colouring and evaluation: the predictions are a nearest-class-mean probe on the
    code (the point named `code`), its class means taken from the codes of a fixed sample of the training split.
    """

    name = "reconstruction"
    metric = RECONSTRUCTION_ERROR.key  # mean squared error per input value (train_error, test_error)
    metric_info = RECONSTRUCTION_ERROR

    def __init__(self, code: str = "code"):
        self.code = code  # the name of the point that holds the code

    def loss(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor, model=None) -> torch.Tensor:
        """Mean squared error per input value, plus the model's `penalty()` (a VAE's KL term) when it has one."""
        mse = functional.mse_loss(output, x)
        penalty = getattr(model, "penalty", None)
        return mse + penalty() if penalty is not None else mse

    def score(self, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
        """The batch's reconstruction error summed over its samples (each sample's mean squared error)."""
        return sample_error(output, x).sum().item()

    def keep(self, outputs: dict[str, torch.Tensor], x: torch.Tensor) -> Kept:
        """The code of every sample and its reconstruction error (the last point is the reconstruction)."""
        recon = list(outputs.values())[-1]
        return {"code": outputs[self.code].detach().flatten(1).cpu(), "error": sample_error(recon, x).cpu()}

    def predictions(
        self, kept: Kept, y: torch.Tensor, n_classes: int, reference: Callable[[], tuple[Kept, torch.Tensor]]
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The probe's classes, and the snapshot's `latent/` records: codes, errors, class means, class errors."""
        ref, ref_y = reference()
        means = class_means(ref["code"], ref_y, n_classes)  # (K, D)
        pred = nearest_mean(kept["code"], means)
        error = kept["error"].float()
        counts = torch.bincount(y, minlength=n_classes).clamp(min=1)
        return pred, {
            "latent/code": kept["code"].float(),  # (N, D) the code of every evaluation sample
            "latent/error": error,  # (N,) each evaluation sample's reconstruction error
            "latent/class_error": torch.zeros(n_classes).index_add_(0, y, error) / counts,  # (K,)
            "latent/class_means": means,  # (K, D) the probe's class means
        }


def sample_error(output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """`(N,)` mean squared error of each sample's reconstruction."""
    return (output.detach() - x).pow(2).flatten(1).mean(1)


def class_means(codes: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """`(K, D)` mean code of each class (a class with no sample gets NaN, so it is never the nearest)."""
    codes = codes.double()
    sums = torch.zeros(n_classes, codes.shape[1], dtype=torch.float64).index_add_(0, y, codes)
    counts = torch.bincount(y, minlength=n_classes).double()[:, None]
    return torch.where(counts > 0, sums / counts.clamp(min=1), float("nan")).float()


def nearest_mean(codes: torch.Tensor, means: torch.Tensor) -> torch.Tensor:
    """`(N,)` int64: the class whose mean code is nearest (Euclidean) to each code; ties go to the lower class."""
    missing = means.isnan().any(1)  # (K,) classes without a sample
    d = torch.cdist(codes.double(), means.double().nan_to_num(nan=0.0))  # (N, K)
    return d.masked_fill(missing, float("inf")).argmin(1)


CLASSIFICATION = Classification()
