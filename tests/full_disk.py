"""Test support: a disk that fills up at the n-th snapshot file, as `open(..., "xb").write` fails on a full disk.

In-process: `fill_up(monkeypatch, at=3)`. In a training worker: `JobSpec(imports=("tests.full_disk_worker",))`.
Only `snapshots/` files fail; the manifest and the step metrics are still written.
"""

from __future__ import annotations

import errno
import os

from nnlab.runs import store


def full_disk_saver(save, at: int):
    """`save` (an `atomic_save_tensors`) that raises OSError(ENOSPC) from the `at`-th snapshot file on."""
    count = {"snapshots": 0}

    def full(path, tensors):
        if path.parent.name == "snapshots":
            count["snapshots"] += 1
            if count["snapshots"] >= at:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return save(path, tensors)

    return full


def fill_up(monkeypatch, at: int = 3) -> None:
    """Make the `at`-th snapshot write of this process fail (undone by `monkeypatch`)."""
    monkeypatch.setattr(store, "atomic_save_tensors", full_disk_saver(store.atomic_save_tensors, at))
