"""Test support, imported by a features job's worker through `FeaturesSpec.imports`: a stand-in for
`nnlab.analysis.sae.train_in_run` with its signature and contract (progress, should_stop, None when stopped).

It reports progress 40 times over about two seconds, stops when `should_stop()` says so, and writes a small file in
the run folder, so the registry's side of a features job (queue, progress, stop, ownership, key) is tested in a
real worker process.
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import nnlab.analysis


def train_in_run(
    folder: Path,
    point: str,
    snapshot,
    width: int,
    k: int,
    *,
    progress=None,
    should_stop=None,
    seed: int = 0,
    epochs=None,
) -> Path | None:
    out = Path(folder) / "features" / f"{point}-{width}-{k}.txt"
    for i in range(40):
        if should_stop is not None and should_stop():
            return None  # stopped: nothing is saved
        if progress is not None:
            progress((i + 1) / 40, f"step {i + 1} of 40")
        time.sleep(0.05)
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"{point} {snapshot} {width} {k} {seed}")
    return out


double = types.ModuleType("nnlab.analysis.sae", "A stand-in for tests (tests/sae_double.py).")
double.train_in_run = train_in_run
sys.modules["nnlab.analysis.sae"] = nnlab.analysis.sae = double  # in the worker process that imported this
