"""A class on one server: N students at once, each quick start → a preset run → four pages (issue 12's targets).

Each student is an AppTest session of the whole app in a thread of this process (the "server"); trainings run in the
registry's worker processes as in the app. AppTest is not thread-safe, so the sessions' script runs take turns
(a lock): page server times are each run's own, and click → ready includes waiting for other sessions' turns (an
upper bound of what a real server, which interleaves sessions, gives). A student presses Quick start on Home and
waits for the run, then asks for the same preset every student of a lesson asks for (digits, a 64-32 MLP, 3 epochs)
and waits for it, then opens the walk-through, class averages, decision boundary and weights with the quick-start
run. Printed per N:
click → run ready (median, max), page server time (median, p90), refusals (warnings that no training could be
had, and page errors), peak memory of this process and its workers (RSS and PSS, from /proc/*/smaps_rollup) with
its breakdown (the server, each training worker and the idle spare at the peak; the most the server alone and any
one worker reached), and the memory a minute after the sessions ended. Every N starts on an empty runs folder and
a fresh registry.

    python bench/classroom.py            # N = 5, 10, 30; about five minutes on 2 cores
    python bench/classroom.py 5 10       # other class sizes
    CLASSROOM_TIMELINE=t.txt python bench/classroom.py 20  # also each memory sample, per process, in t.txt
"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("NNLAB_SPARE_IDLE_S", "30")  # the spare worker leaves once the class has its runs

PAGES = ["app_pages/walkthrough.py", "app_pages/class_averages.py", "app_pages/boundary.py", "app_pages/weights.py"]
APP = str(REPO / "streamlit_app.py")


def _tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _smaps(pid: int) -> tuple[int, int] | None:
    """(RSS, PSS) in kB of one process; None once it is gone."""
    rss = pss = 0
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        return None
    return rss, pss


def memory_by_process() -> dict[int, tuple[int, int]]:
    """{pid: (RSS, PSS) in kB} of this process and its workers."""
    return {pid: m for pid in _tree(os.getpid()) if (m := _smaps(pid)) is not None}


def memory_mb() -> tuple[float, float]:
    """(RSS, PSS) in MB of this process and its workers."""
    ms = memory_by_process().values()
    return sum(r for r, _ in ms) / 1024, sum(p for _, p in ms) / 1024


def spare_pid() -> int | None:
    """The pid of the registry's idle spare worker (None: no spare, or a backend without one)."""
    import appkit

    spare = getattr(appkit.job_registry().backend, "_spare", None)
    return spare.proc.pid if spare is not None and spare.alive() else None


class Peak(threading.Thread):
    """Samples the memory of each process four times a second; keeps the peaks and the breakdown at the peak.

    `roles` at the sample of the highest total PSS: (role, RSS MB, PSS MB) of the server, each worker training
    ("worker") and the idle spare ("spare"); `server` and `worker` are the highest (RSS, PSS) the server alone
    and any one worker reached at any time; `seen` holds the worker processes seen, `most` the most alive at once.
    """

    def __init__(self):
        super().__init__(daemon=True)
        self.rss = self.pss = 0.0
        self.server = self.worker = (0.0, 0.0)
        self.roles: list[tuple[str, float, float]] = []
        self.seen: set[int] = set()
        self.most = 0
        self.timeline: list[str] = []  # per sample: "seconds server=PSS worker=PSS spare=PSS" ($CLASSROOM_TIMELINE)
        self.done = threading.Event()

    def run(self):
        me, t0 = os.getpid(), time.monotonic()
        while not self.done.wait(0.25):
            spare, ms = spare_pid(), memory_by_process()
            rss, pss = sum(r for r, _ in ms.values()) / 1024, sum(p for _, p in ms.values()) / 1024
            self.seen |= set(ms) - {me}
            self.most = max(self.most, len(set(ms) - {me}))
            for pid, (r, p) in ms.items():
                mb = (r / 1024, p / 1024)
                if pid == me:
                    self.server = max(self.server, mb, key=lambda m: m[1])
                else:
                    self.worker = max(self.worker, mb, key=lambda m: m[1])
            t, role = time.monotonic() - t0, {me: "server", spare: "spare"}
            self.timeline.append(f"{t:.2f} " + " ".join(f"{role.get(p, 'worker')}={ms[p][1] // 1024}" for p in ms))
            if pss > self.pss:
                self.roles = sorted((role.get(pid, "worker"), r / 1024, p / 1024) for pid, (r, p) in ms.items())
            self.rss, self.pss = max(self.rss, rss), max(self.pss, pss)


RUN_LOCK = threading.Lock()  # AppTest is not thread-safe: one session's script run at a time (see the docstring)


def student(i: int, out: dict, start: threading.Barrier) -> None:
    from streamlit.testing.v1 import AppTest

    import appkit
    from appkit.session.current import RUN_KEY
    from appkit.session.owner import IDENTITY_KEY
    from appkit.training import job_spec
    from nnlab import DataConfig, MLPConfig, RecordConfig, TrainConfig

    rec = out[i] = {"ready": [], "pages": [], "refusals": 0, "errors": []}

    def run(at, **kw):
        with RUN_LOCK:
            t = time.perf_counter()
            at.run(**kw)
            took = time.perf_counter() - t
            rec["errors"] += [e.value for e in at.exception] + [e.value for e in at.error]
            rec["refusals"] += sum("queue" in w.value or "limit" in w.value or "waiting" in w.value for w in at.warning)
        return took

    with RUN_LOCK:
        at = AppTest.from_file(APP, default_timeout=300)
    run(at)
    start.wait()
    t0 = time.perf_counter()
    at.button(key="home_quick").click()
    run(at, timeout=300)
    quick = at.session_state[RUN_KEY] if RUN_KEY in at.session_state else None
    rec["ready"].append(time.perf_counter() - t0 if quick else float("nan"))

    # the lesson's preset: everyone asks for the same training (as a lesson's one button does)
    t0 = time.perf_counter()
    spec = job_spec(
        DataConfig.make("digits"),
        MLPConfig(input_shape=(1, 8, 8), n_classes=10, hidden=(64, 32)),
        TrainConfig(epochs=3, batch_size=32),
        RecordConfig(snapshots=20),
        name="preset-digits",
    )
    key = IDENTITY_KEY  # who this session is (a browser's cookie; AppTest: a per-session id)
    owner = at.session_state[key] if key in at.session_state else f"student{i}"
    from nnlab.jobs import JobsFull

    try:
        job = appkit.job_registry().start(spec, "preset", owner=owner)
        job.wait(300)
        rec["ready"].append(time.perf_counter() - t0 if job.run_id else float("nan"))
    except JobsFull:
        rec["refusals"] += 1

    if quick:
        at.session_state[RUN_KEY] = quick
    for page in PAGES:
        at.switch_page(page)
        rec["pages"].append(run(at))


def classroom(n: int) -> dict:
    import appkit

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NNLAB_RUNS_DIR"] = str(Path(tmp) / "runs")
        appkit.job_registry.clear()
        gc.collect()
        base = memory_mb()
        appkit.job_registry()  # the one every student's session gets: the sampler asks it which worker is the spare
        peak = Peak()
        peak.start()
        out: dict = {}
        barrier = threading.Barrier(n)
        threads = [threading.Thread(target=student, args=(i, out, barrier)) for i in range(n)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        peak.done.set()
        if os.environ.get("CLASSROOM_TIMELINE"):
            Path(os.environ["CLASSROOM_TIMELINE"]).write_text("\n".join(peak.timeline) + "\n")
        folders = len(list((Path(tmp) / "runs").iterdir()))
        results = dict(out)
        out.clear()
        gc.collect()
        # a minute after the class: caches keep their entries until their ttl; the spare worker leaves
        time.sleep(float(os.environ.get("CLASSROOM_AFTER_S", 60)))
        after = memory_mb()
        appkit.job_registry.clear()
    quick = [r["ready"][0] for r in results.values() if r["ready"]]
    preset = [r["ready"][1] for r in results.values() if len(r["ready"]) > 1]
    pages = sorted(p for r in results.values() for p in r["pages"])
    return {
        "n": n,
        "quick": quick,
        "preset": preset,
        "pages": pages,
        "refusals": sum(r["refusals"] for r in results.values()),
        "errors": [e for r in results.values() for e in r["errors"]],
        "peak": (peak.rss, peak.pss),
        "at_peak": peak.roles,
        "server": peak.server,
        "worker": peak.worker,
        "workers": (len(peak.seen), peak.most),
        "base": base,
        "after": after,
        "folders": folders,
        "wall": wall,
    }


def p90(xs):
    return xs[min(len(xs) - 1, int(0.9 * len(xs)))] if xs else float("nan")


def main(sizes=(5, 10, 30)) -> None:
    print(
        f"{'N':>3} | quick start ready med/max | preset ready med/max | page med/p90 | refusals | errors | "
        "peak RSS/PSS MB | 1 min after RSS/PSS | run folders"
    )
    for n in sizes:
        r = classroom(n)
        q, p = sorted(r["quick"]), sorted(r["preset"])
        print(
            f"{n:>3} | {statistics.median(q):6.2f} s / {max(q):6.2f} s | "
            f"{statistics.median(p):6.2f} s / {max(p):6.2f} s | "
            f"{statistics.median(r['pages']):.2f} s / {p90(r['pages']):.2f} s | {r['refusals']:>3} | "
            f"{len(r['errors']):>3} | {r['peak'][0]:6.0f} / {r['peak'][1]:6.0f} | {r['after'][0]:6.0f} / "
            f"{r['after'][1]:6.0f} | {r['folders']}",
            flush=True,
        )
        parts = ", ".join(f"{role} {rss:.0f}/{pss:.0f}" for role, rss, pss in r["at_peak"])
        print(f"    at peak PSS, RSS/PSS MB: {parts}")
        print(
            f"    highest alone: server {r['server'][0]:.0f}/{r['server'][1]:.0f}, one worker "
            f"{r['worker'][0]:.0f}/{r['worker'][1]:.0f}; worker processes: {r['workers'][0]} started, "
            f"{r['workers'][1]} at once at most"
        )
        for e in r["errors"][:3]:
            print("    error:", str(e)[:200])


if __name__ == "__main__":
    main(tuple(int(a) for a in sys.argv[1:]) or (5, 10, 30))
