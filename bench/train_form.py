"""Benchmark: what one rerun of the Train page costs the server while someone fills in its form (issue 24).

Not run by pytest: `python bench/train_form.py` (about a minute on 2 cores). The Train page (AppTest, this process)
is run once to warm it, then re-run `--runs` times with nothing changed (what every widget change elsewhere on the
page, or the live panel's page-wide redraw, costs), for three networks: the default MLP on two moons, an MLP and a
CNN on digits. Printed: median and p90 of a rerun's wall time and of this process's CPU time (steadier on a busy
machine), in milliseconds, and the parameter tensors made on the meta device per rerun (each time the form sizes
or draws the network), per network; compare them before and after a change of the form's code. No training is
started (no spare worker either).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

CASES = {  # name: the form's widgets set before the first run
    "moons · MLP (the default)": {},
    "digits · MLP 128-64": {"train_dataset": "digits"},
    "digits · CNN": {"train_dataset": "digits", "train_kind": "CNN"},
}


def reruns(widgets: dict, runs: int) -> tuple[list[float], list[float], float]:
    """(wall seconds, CPU seconds of this process) of each warm rerun of the Train page with `widgets` set, and
    the parameter tensors made on the meta device per rerun (a network sized or drawn: deterministic)."""
    import torch
    from streamlit.testing.v1 import AppTest

    meta = [0]

    def count(module, name, param):
        meta[0] += param is not None and param.device.type == "meta"

    torch.nn.modules.module.register_module_parameter_registration_hook(count)

    at = AppTest.from_file(str(ROOT / "app_pages" / "train.py"), default_timeout=120)
    for key, value in widgets.items():
        at.session_state[key] = value
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    at.run()  # warm: the dataset, the kinds' forms, the caches
    wall, cpu, meta[0] = [], [], 0
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        at.run()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    return wall, cpu, meta[0] / runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    a = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nnlab-train-form-"))
    os.environ["NNLAB_DATA_DIR"] = str(tmp / "data")
    os.environ["NNLAB_RUNS_DIR"] = str(tmp / "runs")
    os.environ["NNLAB_SPARE_WORKER"] = "0"
    print(f"one warm rerun of the Train page, {a.runs} runs: wall time, and CPU time of this process (the server's")
    print("own work: it does not count other processes on a busy machine)")
    print(f"{'network':28} {'wall median':>11} {'p90 ms':>7} {'CPU median':>11} {'p90 ms':>7} {'meta tensors':>12}")
    for name, widgets in CASES.items():
        wall, cpu, meta = reruns(widgets, a.runs)
        cells = []
        for times in map(sorted, (wall, cpu)):
            cells.append(f"{1000 * statistics.median(times):11.1f} {1000 * times[int(0.9 * (len(times) - 1))]:7.1f}")
        print(f"{name:28} {' '.join(cells)} {meta:12.1f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
