"""Test support, imported by a features job's worker through `FeaturesSpec.imports`: a stand-in for
`nnlab.analysis.sae.train_spec` with its signature and contract (progress, should_stop, None when stopped).

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


def train_spec(folder: Path, spec, *, progress=None, should_stop=None) -> Path | None:
    out = Path(folder) / "features" / f"{spec.point}-{spec.width}-{spec.k}.txt"
    for i in range(40):
        if should_stop is not None and should_stop():
            return None  # stopped: nothing is saved
        if progress is not None:
            progress((i + 1) / 40, f"step {i + 1} of 40")
        time.sleep(0.05)
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"{spec.point} {spec.snapshot} {spec.width} {spec.k} {spec.seed}")
    return out


double = types.ModuleType("nnlab.analysis.sae", "A stand-in for tests (tests/sae_double.py).")
double.train_spec = train_spec
sys.modules["nnlab.analysis.sae"] = nnlab.analysis.sae = double  # in the worker process that imported this
