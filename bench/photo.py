"""Benchmark of a photo through the pretrained network (issue 26's bars), each against a baseline in this process.

On one thread, with scikit-learn's china.jpg: (1) the forward pass with every stage's maps captured against the
300 ms bar, and as a ratio of the plain forward pass (no hooks) measured beside it; (2) Grad-CAM of one class
against 500 ms, and as a ratio of that plain pass; (3) the memory the process grows by when the network is built
and run, against 150 MB; (4) the Photo page's warm server time (AppTest, second run) against 1 s, and the bytes of
the plotly figures it sends against 3 MB; (5) the pretrained network opened as a run (`PretrainedRun`, the photos
as samples): one photo's walk-through against the walk-through's 150 ms bar, the Units page's table over the photos,
and each attribution method the Attribution page offers on it, once each (several take seconds), as multiples of the
plain pass. Medians of repeats, warm.

    python bench/photo.py
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FORWARD_MS, CAM_MS, GROWTH_MB, PAGE_S, PAGE_BYTES = 300.0, 500.0, 150.0, 1.0, 3_000_000
REPEATS = 7


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def interleaved(tasks: dict, repeats: int = REPEATS) -> dict[str, float]:
    """Median milliseconds of each task, the tasks taking turns in every round (after one warm round)."""
    times = {name: [] for name in tasks}
    for round_ in range(repeats + 1):
        for name, fn in tasks.items():
            start = time.perf_counter()
            fn()
            if round_:
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    torch.set_num_threads(1)
    from sklearn.datasets import load_sample_images

    from nnlab.analysis import photo as P
    from nnlab.models import build_model
    from nnlab.models.pretrained import PretrainedConfig, pretrained_network

    rgb = load_sample_images().images[0]
    before = rss_mb()
    model = build_model(PretrainedConfig()).requires_grad_(False)  # as the Photo page holds it
    net = pretrained_network("efficientnet-lite0")
    points = P.shaped(model, list(net.points), net.input_shape)  # what the Photo page does
    steps = P.preprocess(rgb, net.preprocess)
    seen = P.look(model, steps.x, points)
    P.grad_cam(model, steps.x, int(seen.probs.argmax()))
    growth = rss_mb() - before

    target = int(seen.probs.argmax())

    def plain():
        with torch.no_grad():
            model(steps.x)

    tasks = {
        "plain": plain,
        "captured": lambda: P.look(model, steps.x, points),
        "cam": lambda: P.grad_cam(model, steps.x, target),
    }
    base, captured, cam = interleaved(tasks).values()  # the machine may be shared: each round runs all three
    print(f"one thread, torch {torch.__version__}; plain forward pass (the baseline): {base:.0f} ms")
    print(
        f"forward with every map captured: {captured:.0f} ms = {captured / FORWARD_MS:.2f} of the "
        f"{FORWARD_MS:.0f} ms bar, {captured / base:.2f}× the plain pass"
    )
    print(
        f"Grad-CAM of one class:           {cam:.0f} ms = {cam / CAM_MS:.2f} of the {CAM_MS:.0f} ms bar, "
        f"{cam / base:.2f}× the plain pass"
    )
    print(f"memory grown by the network:     {growth:.0f} MB = {growth / GROWTH_MB:.2f} of the {GROWTH_MB:.0f} MB bar")

    run_analyses(model, rgb, base)

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("app_pages/photo.py").run()  # cold: builds the network, runs the photo
    times = []
    for _ in range(3):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    warm = statistics.median(times)
    home = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    home.run()
    home_times = []
    for _ in range(3):
        start = time.perf_counter()
        home.run()
        home_times.append(time.perf_counter() - start)
    home_warm = statistics.median(home_times)
    charts = at.get("plotly_chart")
    if at.exception or len(charts) < 6:
        raise SystemExit(f"the page did not draw: {len(charts)} charts, {[e.value for e in at.exception]}")
    sent = sum(len(json.dumps(json.loads(chart.proto.spec))) for chart in charts)
    print(
        f"Photo page, warm server time:    {warm:.2f} s = {warm / PAGE_S:.2f} of the {PAGE_S:.0f} s bar, "
        f"{warm / home_warm:.1f}× Home's {home_warm:.2f} s measured beside it"
    )
    print(f"Photo page, {len(charts)} figures sent:    {sent / 1e6:.2f} MB = {sent / PAGE_BYTES:.2f} of the 3 MB bar")
    for page, state in (
        ("walkthrough", {}),
        ("walkthrough", {"walk_block": "stage2"}),  # the largest block: 144 channels of 56×56, raw and after ReLU6
        ("units", {"units_point": "stage4_relu"}),
        ("attribution", {"attr_methods": ["grad_cam", "grad_cam_pp", "cam"]}),  # the others: seconds (above)
    ):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
        at.run()
        at.session_state["app_pending_run"] = ("pretrained:efficientnet-lite0", None)
        for key, value in state.items():
            at.session_state[key] = value
        at.switch_page(f"app_pages/{page}.py").run()  # cold: the network, the photos' first pass
        times = []
        for _ in range(3):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        if at.exception:
            raise SystemExit(f"{page} failed on the pretrained network: {[e.value for e in at.exception]}")
        warm = statistics.median(times)
        sent = sum(len(json.dumps(json.loads(chart.proto.spec))) for chart in at.get("plotly_chart"))
        print(
            f"{page} {state.get('walk_block', '')} on the pretrained network, warm: {warm:.2f} s = "
            f"{warm / PAGE_S:.2f} of the {PAGE_S:.0f} s bar, "
            f"{warm / home_warm:.1f}× Home's; {sent / 1e6:.2f} MB of figures = {sent / PAGE_BYTES:.2f} of 3 MB"
        )


WALK_MS = 150.0  # the walk-through's bar for any sample (SPEC, quality bars)


def run_analyses(model, rgb, base: float) -> None:
    """The walk-through, units and attribution on the pretrained network opened as a run with two photos."""
    from sklearn.datasets import load_sample_images

    from nnlab.analysis import attribution, layers, units
    from nnlab.runs.pretrained import PretrainedRun

    images = load_sample_images().images
    run = PretrainedRun("efficientnet-lite0", [("china", images[0]), ("flower", images[1])], model=model)
    ds, points = run.dataset(), run.points()
    x = ds.prepare(ds.x_test[:1])
    shared = run.model_at(0)
    walk = interleaved({"walk": lambda: layers.walk_sample(layers.replay(shared, x), points, label=-1)})["walk"]
    print(
        f"pretrained run, one photo's walk-through: {walk:.0f} ms = {walk / WALK_MS:.2f} of the {WALK_MS:.0f} ms "
        f"bar, {walk / base:.1f}× the plain pass"
    )
    start = time.perf_counter()
    table = units.run_unit_table(run, 0, ds, "stage4_relu", model=shared)
    units.run_unit_info(run, 0, ds, "stage4_relu", 0, table=table, model=shared)
    took = (time.perf_counter() - start) * 1000
    print(f"pretrained run, units of stage4_relu over {len(ds.x_test)} photos: {took:.0f} ms = {took / base:.1f}×")
    why = attribution.reasons(run, ds)
    _, window = attribution.occlusion_windows(ds)
    target = int(run.class_names.index("palace"))
    for method in [m for m, reason in why.items() if reason is None]:
        start = time.perf_counter()
        attribution.attribute(shared, x, target, method, baseline=attribution.baseline(ds), window=window)
        took = (time.perf_counter() - start) * 1000
        print(f"  attribution {method:<20} {took / 1000:6.2f} s = {took / base:6.1f}× the plain pass")
    print("  not offered: " + "; ".join(f"{m} ({reason})" for m, reason in why.items() if reason))


if __name__ == "__main__":
    main()
