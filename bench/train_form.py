"""Benchmark: what one rerun of the Train page costs the server while someone fills in its form (issue 24).

Not run by pytest: `python bench/train_form.py` (about a minute on 2 cores). The Train page (AppTest, this process)
is run once to warm it, then re-run `--runs` times with nothing changed (what every widget change elsewhere on the
page, or the live panel's page-wide redraw, costs), for three networks: the default MLP on two moons, an MLP and a
CNN on digits. Printed: median and p90 server time of a rerun, in milliseconds, per network; compare them before
and after a change of the form's code. No training is started (no spare worker either).
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


def reruns(widgets: dict, runs: int) -> list[float]:
    """Seconds of each warm rerun of the Train page with `widgets` set."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app_pages" / "train.py"), default_timeout=120)
    for key, value in widgets.items():
        at.session_state[key] = value
    at.run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    at.run()  # warm: the dataset, the kinds' forms, the caches
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t)
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    a = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nnlab-train-form-"))
    os.environ["NNLAB_DATA_DIR"] = str(tmp / "data")
    os.environ["NNLAB_RUNS_DIR"] = str(tmp / "runs")
    os.environ["NNLAB_SPARE_WORKER"] = "0"
    print(f"{'network':28} {'median ms':>9} {'p90 ms':>7}  (one warm rerun of the Train page, {a.runs} runs)")
    for name, widgets in CASES.items():
        times = sorted(reruns(widgets, a.runs))
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        print(f"{name:28} {1000 * statistics.median(times):9.1f} {1000 * p90:7.1f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
