"""Tiny training jobs for the tests of `nnlab.jobs`, and a wait with a deadline."""

from __future__ import annotations

import time

from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig
from nnlab.jobs import JobSpec

TINY = MLPConfig(hidden=(8,))


def spec(root, *, epochs=2, seed=0, lr=3e-3, optimizer="adam", n=200, model=TINY, snapshots=4, name="job", **kwargs):
    """Two moons of `n` points, a 2-8-2 MLP, batches of 32 (5 steps an epoch at n=200), `snapshots` snapshots."""
    return JobSpec(
        DataConfig.make("moons", n_samples=n),
        model,
        TrainConfig(optimizer=optimizer, lr=lr, batch_size=32, epochs=epochs, seed=seed),
        RecordConfig(snapshots=snapshots, eval_size=40),
        root=root,
        name=name,
        **kwargs,
    )


def until(condition, timeout=60.0) -> bool:
    """Wait until `condition()` holds (True) or `timeout` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
