"""The dataset budget: how many values (samples × values per sample) a dataset may hold in memory.

Stage 1 of the pipeline (data). Every loader asks `check_values` with the counts that a
file's header (npz, IDX, CIFAR sizes, a CSV's lines and columns) or a generator's options
declare, before it allocates anything; `load_dataset` checks the result once more.

The default, 200 million values, holds the largest built-in set (CIFAR-10: 60,000 × 3,072 =
184 million) and is sized for a 2.7 GB host: the float32 copy the trainer makes of such a set
is 800 MB, next to the dataset itself (200 MB as uint8 images, 800 MB as float32 features)
and the app (about 0.65 GB). Servers with more memory raise it with the env var.
"""

from __future__ import annotations

import os

from .formats import DataFileError

ENV_VAR = "NNLAB_MAX_DATASET_VALUES"
DEFAULT_MAX_VALUES = 200_000_000


def max_dataset_values() -> int:
    """The budget: `$NNLAB_MAX_DATASET_VALUES` (a whole number, `_` allowed), default 200 million."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_MAX_VALUES
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ValueError(f"{ENV_VAR}={raw!r}: expected a whole number of values, at least 1")
    return limit


def check_values(what: str, n_samples: int, per_sample: int) -> None:
    """Raise `DataFileError` (naming `what`, the count and the limit) if `n_samples × per_sample` is over budget."""
    total, limit = int(n_samples) * int(per_sample), max_dataset_values()
    if total > limit:
        raise DataFileError(
            f"{what}: {int(n_samples):,} samples × {int(per_sample):,} values each = {total:,} values, more than "
            f"the limit of {limit:,} (set {ENV_VAR} on the server to change it)"
        )
