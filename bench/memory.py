"""Server memory with one user and a Fashion-MNIST-sized run open (SPEC §6: under 1 GB).

Writes a drop-in file of Fashion-MNIST's shape (60,000 + 10,000 images of 28×28, seeded noise with a pattern per
class) into a temporary data folder, records the default MLP on it (2 epochs, 50 snapshots), starts
`streamlit run streamlit_app.py` on 127.0.0.1, and lets one Chromium tab visit every page with that run chosen.
It prints the resident memory of the server process (and of its worker processes) after each page, as a ratio
of the 1 GB budget. Needs Playwright and a Chromium (`/usr/bin/chromium`), like the browser tests.

    python bench/memory.py           # about two minutes on 2 cores
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BUDGET_MB = 1024
PAGES = [
    "Home",
    "Datasets",
    "Train",
    "Runs",
    "Layer walk-through",
    "Class averages",
    "Attribution",
    "Hidden layers",
    "Weight evolution",
    "Decision boundary",
    "Compare runs",
]


def rss_mb(pid: int) -> float:
    """Resident memory of one process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            out += [int(c) for c in path.read_text().split()]
    return out


def write_dataset(folder: Path) -> None:
    """fashion-shaped.npz: uint8 (N, 28, 28) images, 10 classes, a seeded block pattern per class plus noise."""
    rng = np.random.default_rng(0)
    templates = rng.uniform(0, 255, (10, 7, 7)).repeat(4, axis=1).repeat(4, axis=2)

    def draw(n):
        y = rng.integers(0, 10, n)
        x = np.empty((n, 28, 28), np.uint8)
        for i in range(0, n, 10_000):
            part = 0.7 * templates[y[i : i + 10_000]] + rng.normal(40, 50, (len(y[i : i + 10_000]), 28, 28))
            x[i : i + 10_000] = np.clip(part, 0, 255)
        return x, y

    x_train, y_train = draw(60_000)
    x_test, y_test = draw(10_000)
    with open(folder / "fashion-shaped.npz.part", "wb") as f:
        np.savez(f, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (folder / "fashion-shaped.npz.part").replace(folder / "fashion-shaped.npz")


def main() -> None:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sys.exit("bench/memory.py needs playwright (pip install -r requirements-dev.txt)")
    chromium = next((c for c in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(c).exists()), None)
    if chromium is None:
        sys.exit("bench/memory.py needs a Chromium at /usr/bin/chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="nnlab-mem-") as tmp:
        root, data = Path(tmp) / "runs", Path(tmp) / "data"
        root.mkdir()
        data.mkdir()
        os.environ["NNLAB_DATA_DIR"], os.environ["NNLAB_RUNS_DIR"] = str(data), str(root)
        write_dataset(data)
        from nnlab import DataConfig, load_dataset, train_run
        from nnlab.pipeline import default_model, default_train

        config = DataConfig.make("fashion-shaped")
        ds = load_dataset(config)
        t0 = time.perf_counter()
        run = train_run(config, default_model(ds, "mlp"), default_train(ds, epochs=2), root=root, name="fashion")
        print(f"recorded {run.id}: {len(run)} snapshots in {time.perf_counter() - t0:.1f} s")
        port = 8600 + os.getpid() % 300
        cmd = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true"]
        cmd += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
        with open(Path(tmp) / "streamlit.log", "wb") as log:
            server = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(240):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.5)
            print(f"server started: {rss_mb(server.pid):.0f} MB\n")
            print(f"{'page':<22}{'server MB':>10}{'ratio':>8}{'workers MB':>12}{'total MB':>10}{'ratio':>8}")
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
                )
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(url)
                page.wait_for_timeout(5000)
                peak = peak_total = 0.0
                for title in PAGES:
                    page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title).first.click()
                    page.wait_for_timeout(6000)  # the page's work, and the background tasks it starts
                    server_mb = rss_mb(server.pid)
                    kids = children(server.pid)
                    workers = sum(rss_mb(c) for c in kids)
                    total = server_mb + workers
                    peak, peak_total = max(peak, server_mb), max(peak_total, total)
                    print(
                        f"{title:<22}{server_mb:>10.0f}{server_mb / BUDGET_MB:>8.2f}{workers:>9.0f} ({len(kids)})"
                        f"{total:>10.0f}{total / BUDGET_MB:>8.2f}"
                    )
                browser.close()
            print(f"\npeak server memory {peak:.0f} MB: ratio {peak / BUDGET_MB:.2f} of the {BUDGET_MB} MB budget")
            print(
                f"with the idle training worker it keeps warm: {peak_total:.0f} MB, ratio {peak_total / BUDGET_MB:.2f} "
                "(NNLAB_SPARE_WORKER=0 starts none until Start is pressed)"
            )
        finally:
            server.terminate()
            server.wait(timeout=20)


if __name__ == "__main__":
    main()
