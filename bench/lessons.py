"""Each built-in lesson's training time, and the time from pressing its first "Set it up" to the page being ready.

For every lesson in `lessons/`: trains each preset here with `train_run` (all cores, as an idle server's worker
does) and prints its seconds, against the 20 s budget (issue 14); then drives the real app (`streamlit_app.py`)
through AppTest in a fresh runs folder: opens the lesson, presses its first step's button, which trains the
presets that step needs through the job registry (a worker process) and opens the page, and times it until the
page has drawn ("cold"); then presses it again, when the registry reuses the run ("reused").

    python bench/lessons.py               # about two minutes on 2 cores
    python bench/lessons.py --only 01 04  # lessons whose name starts so
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGET_S = 20.0  # issue 14: every preset trains in at most 20 s on this 2-core machine


def train_times(lesson, root: Path) -> dict[str, float]:
    from nnlab import load_dataset, train_run

    out = {}
    for name, p in lesson.presets.items():
        ds = load_dataset(p.data)
        t = time.perf_counter()
        train_run(p.data, p.model(ds.input_shape, ds.n_classes), p.train, p.record, root=root, dataset=ds)
        out[name] = time.perf_counter() - t
    return out


def press_to_ready(lesson, app: Path) -> tuple[float, float]:
    """Seconds from pressing step 1's button to its page drawn: first (trains), then again (reuses)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(app), default_timeout=300)
    at.query_params["lesson"] = lesson.name
    at.run()
    times = []
    for _ in range(2):
        t = time.perf_counter()
        at.button(key=f"lesson_setup_{lesson.name}_0").click().run()
        times.append(time.perf_counter() - t)
        if at.exception:
            raise RuntimeError(f"{lesson.name}: {at.exception[0].value}")
    return times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="lessons whose name starts with one of these")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NNLAB_RUNS_DIR"] = str(Path(tmp) / "app-runs")
        (Path(tmp) / "app-runs").mkdir()
        import appkit
        from nnlab.lessons import Lesson, load_lessons

        lessons = [x for x in load_lessons() if isinstance(x, Lesson)]
        lessons = [x for x in lessons if not args.only or any(x.name.startswith(o) for o in args.only)]
        print(f"{'lesson':<20} {'preset':<9} {'train s':>8} {'of 20 s':>8}   {'press→ready s':>13} {'reused s':>9}")
        worst = 0.0
        for lesson in lessons:
            times = train_times(lesson, Path(tmp) / "bench-runs")
            cold, warm = press_to_ready(lesson, REPO / "streamlit_app.py")
            for n, (preset, s) in enumerate(times.items()):
                worst = max(worst, s)
                tail = f"   {cold:>13.1f} {warm:>9.2f}" if n == 0 else ""
                print(f"{lesson.name if n == 0 else '':<20} {preset:<9} {s:>8.1f} {s / BUDGET_S:>8.0%}{tail}")
        print(f"slowest preset: {worst:.1f} s = {worst / BUDGET_S:.0%} of the {BUDGET_S:.0f} s budget")
        appkit.job_registry.clear()  # ends the worker processes


if __name__ == "__main__":
    main()
