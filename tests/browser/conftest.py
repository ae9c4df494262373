"""Browser tests' frame: runs trained first, one `streamlit run` server and one Chromium for the session.

The tests drive the real app through Playwright (`App` below: open a page, pick a run, wait for
Streamlit to finish and the plotly charts to draw, check for error boxes, save a screenshot).
Everything skips with a reason when Playwright or a Chromium binary is missing.
Screenshots go to `artifacts/screenshots/` (or `$NNLAB_SCREENSHOTS`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOT = Path(os.environ.get("NNLAB_APP_ROOT", REPO))  # the folder holding streamlit_app.py
SHOTS = Path(os.environ.get("NNLAB_SCREENSHOTS", REPO / "artifacts" / "screenshots"))
VIEWPORT = {"width": 1400, "height": 900}
LAPTOP = {"width": 1280, "height": 800}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]
SERVER_START_S = 90  # health endpoint must answer within this
RUN_TIMEOUT_MS = 60_000  # one script run of a page (the first one also imports torch, plotly, sklearn)

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def find_chromium() -> str | None:
    """A Chromium binary: $NNLAB_CHROMIUM, /usr/bin/chromium, or `chromium` / `chromium-browser` on PATH."""
    for cand in (
        os.environ.get("NNLAB_CHROMIUM"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    return None


def skip_reason() -> str | None:
    if sync_playwright is None:
        return "playwright is not importable (pip install -r requirements-dev.txt)"
    if find_chromium() is None:
        return "no Chromium found (/usr/bin/chromium or `chromium` on PATH; on Debian/Ubuntu: apt-get install chromium)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = skip_reason()
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test leaves a screenshot of what the browser showed: artifacts/screenshots/FAILED-<test>.png."""
    outcome = yield
    report = outcome.get_result()
    app = item.funcargs.get("app") if hasattr(item, "funcargs") else None
    # Not isinstance(app, App): the modules that import this file as `tests.browser.conftest` (the lessons' own
    # `app` fixtures) hold a second copy of the module, whose App is another class.
    if report.when == "call" and report.failed and type(app).__name__ == "App" and hasattr(app, "screenshot"):
        name = "FAILED-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in item.name)
        try:
            app.screenshot(name)
            errors = app.errors()
        except Exception as e:  # the page may be gone; the test's own error matters more
            errors = [f"(no screenshot: {e})"]
        report.sections.append(("browser", f"screenshot {name}.png; error boxes: {errors}"))


# ---------------------------------------------------------------- runs and server


@pytest.fixture(scope="session")
def app_dirs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("nnlab-browser")
    dirs = {"runs": base / "runs", "data": base / "data", "logs": base / "logs"}
    for d in dirs.values():
        d.mkdir()
    return dirs


@pytest.fixture(scope="session")
def trained_runs(app_dirs) -> dict[str, str]:
    """Small runs trained before the server starts: digits ViT (the oldest), moons MLP, digits MLP, digits CNN (the
    newest: the sidebar's default), run ids by key."""
    import torch

    from nnlab import DataConfig, RecordConfig, load_dataset, train_run
    from nnlab.pipeline import default_model, default_train

    root, rec, threads = app_dirs["runs"], RecordConfig(snapshots=10), torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks train faster on one thread, and the machine has two cores
    try:
        with pytest.MonkeyPatch.context() as mp:  # digits comes with scikit-learn: nothing is downloaded
            mp.setenv("NNLAB_DATA_DIR", str(app_dirs["data"]))
            digits = DataConfig.make("digits")
            ds = load_dataset(digits)
            vit = train_run(
                digits,
                default_model(ds, "vit"),
                default_train(ds, epochs=4),
                rec,
                root=root,
                name="digits-vit",
                dataset=ds,
            )
            moons = train_run(DataConfig.make("moons"), record=rec, root=root, name="moons")
            mlp = train_run(
                digits,
                default_model(ds, "mlp"),
                default_train(ds, epochs=3),
                rec,
                root=root,
                name="digits-mlp",
                dataset=ds,
            )
            cnn = train_run(
                digits,
                default_model(ds, "cnn"),
                default_train(ds, epochs=2),
                rec,
                root=root,
                name="digits-cnn",
                dataset=ds,
            )
    finally:
        torch.set_num_threads(threads)
    return {"moons": moons.id, "digits-mlp": mlp.id, "digits-cnn": cnn.id, "digits-vit": vit.id}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except OSError:
        return False


@pytest.fixture(scope="session")
def server(app_dirs, request) -> str:
    """`streamlit run streamlit_app.py` on 127.0.0.1 and a free port; yields its base URL, always killed at the end.

    The process starts before `trained_runs` trains (its start, mostly imports, overlaps the training; no page runs
    before a browser connects, so every page sees the runs), and the URL is handed out once both are done."""
    if skip_reason():
        pytest.skip(skip_reason())
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "NNLAB_RUNS_DIR": str(app_dirs["runs"]),
        "NNLAB_DATA_DIR": str(app_dirs["data"]),
        "PYTHONUNBUFFERED": "1",
    }
    log_path = app_dirs["logs"] / "streamlit.log"
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "streamlit_app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        request.getfixturevalue("trained_runs")
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"streamlit did not become healthy at {url} (exit code {proc.poll()}):\n{tail}")
            time.sleep(0.25)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def _app_page(browser, server, trained_runs, viewport=VIEWPORT):
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    context.set_default_timeout(RUN_TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield App(page, server, trained_runs, errors)
    finally:
        context.close()


@pytest.fixture()
def app(browser, server, trained_runs):
    """A fresh browser page (its own Streamlit session) wrapped in `App`."""
    with _app_page(browser, server, trained_runs) as a:
        yield a


@pytest.fixture()
def laptop_app(browser, server, trained_runs):
    """`app` in a 1280×800 window, a student's laptop: what must be in sight without scrolling is checked here."""
    with _app_page(browser, server, trained_runs, LAPTOP) as a:
        yield a


@pytest.fixture(scope="session")
def nav_titles(browser, server, trained_runs) -> list[str]:
    """The page titles in the sidebar navigation, read once (tests of pages not written yet skip early)."""
    with _app_page(browser, server, trained_runs) as a:
        a.open()
        return a.nav_titles()


# ---------------------------------------------------------------- driving the app

_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-connection-state') !== 'CONNECTED') return false;
  if (app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stAppSkeleton"], [data-testid="stStatusWidget"]')) return false;
  return !document.querySelector('[data-testid="stSpinner"]');
}"""

# Every visible plotly chart has drawn: its svg exists, has a size, and holds a trace (paths, image or WebGL canvas).
_CHARTS_JS = """() => {
  const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
      .filter(c => c.getClientRects().length > 0 && getComputedStyle(c).visibility !== 'hidden');
  const drawn = charts.filter(c => {
    const plot = c.querySelector('.js-plotly-plot');
    const svg = plot && plot.querySelector('svg.main-svg');
    if (!svg || !plot._fullLayout) return false;
    const r = svg.getBoundingClientRect();
    if (r.width < 50 || r.height < 50 || getComputedStyle(plot).visibility === 'hidden') return false;
    return !!plot.querySelector('g.trace, g.imagelayer image, g.heatmaplayer image, image, canvas, g.pielayer path');
  });
  return {visible: charts.length, drawn: drawn.length};
}"""

_HEIGHT_JS = """() => Math.max(document.documentElement.scrollHeight, ...[...document.querySelectorAll(
  '[data-testid="stMain"], [data-testid="stAppViewContainer"], [data-testid="stSidebarContent"]')]
  .map(e => e.scrollHeight))"""

_ERRORS_JS = """() => [...document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]')]
  .filter(e => e.matches('[data-testid="stException"]') || !e.closest('[data-testid="stException"]'))
  .map(e => e.innerText.replace(/\\n(Copy|Ask Google|Ask ChatGPT)/g, '').trim().slice(0, 2000))"""


def _appear(locator, timeout_ms: int = 10_000) -> None:
    """Give `locator` time to appear (count() does not wait; the page may be redrawing); the caller asserts."""
    with contextlib.suppress(Exception):
        locator.first.wait_for(timeout=timeout_ms)


class App:
    """One browser tab on the app: navigate, choose a run, wait, check, screenshot."""

    def __init__(self, page, url: str, runs: dict[str, str], js_errors: list[str]):
        self.page, self.url, self.runs, self.js_errors = page, url, runs, js_errors

    def wait_idle(self, timeout_ms: int = RUN_TIMEOUT_MS, settle_s: float = 0.5) -> None:
        """Wait until the script has finished running and stayed finished for `settle_s` (reruns chain)."""
        deadline = time.monotonic() + timeout_ms / 1000
        quiet_since = None
        while True:
            remaining = max(1, int((deadline - time.monotonic()) * 1000))
            self.page.wait_for_function(_IDLE_JS, timeout=remaining, polling=100)
            now = time.monotonic()
            quiet_since = quiet_since or now
            if now - quiet_since >= settle_s:
                return
            time.sleep(0.1)
            if not self.page.evaluate(_IDLE_JS):
                quiet_since = None
            if time.monotonic() > deadline:
                raise TimeoutError("the app kept re-running its script")

    def open(self, title: str | None = None, *, query: str = "") -> None:
        """Load the app (with `query` in its address: `run=<id>` opens it on that run, as a link does), then (if
        `title`) click that page's link in the sidebar navigation."""
        self.page.goto(f"{self.url}/?{query}" if query else self.url, wait_until="domcontentloaded")
        self.wait_idle()
        # One click: the anonymous id's cookie is set by a script in the page (appkit/session/owner.py), not a component
        # reporting back, so a fresh session no longer reruns itself after its first load and undoes the click.
        if title:
            self.nav_link(title).click()
            self.page.wait_for_timeout(300)
            self.wait_idle()

    def nav_titles(self) -> list[str]:
        texts = self.page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
        return [t.strip().splitlines()[-1].strip() for t in texts if t.strip()]  # drop the icon's ligature name

    def nav_link(self, title: str):
        links = self.page.locator('[data-testid="stSidebarNavLink"]').filter(has_text=title)
        _appear(links)
        assert links.count() >= 1, f"no sidebar link {title!r}; the sidebar has {self.nav_titles()}"
        return links.first

    def select_run(self, key: str) -> None:
        """Pick the run trained as `key` (moons, digits-mlp, digits-cnn, or a run id) in the sidebar's selectbox."""
        self.select("Run", self.runs.get(key, key), within='[data-testid="stSidebar"]')

    def select(self, label: str, option: str, *, within: str = '[data-testid="stMain"]') -> None:
        """Choose the option containing `option` in the selectbox labelled `label`, then wait for the rerun."""
        box = self.page.locator(within).get_by_role("combobox", name=label, exact=True).first
        if option in box.input_value():
            return
        options = self.page.get_by_role("option")
        choice = options.filter(has_text=option)
        for _ in range(3):  # a rerun that lands just after the click closes the list: open it again
            box.scroll_into_view_if_needed()
            box.click()
            _appear(choice)
            if choice.count():
                break
            self.page.keyboard.press("Escape")
            self.wait_idle()
        assert choice.count() >= 1, f"{label}: no option {option!r}; the options are {options.all_inner_texts()}"
        choice.first.click()
        self.page.wait_for_timeout(300)
        self.wait_idle()
        assert option in box.input_value(), f"{label}: could not choose {option!r}, it shows {box.input_value()!r}"

    def wait_charts(self, minimum: int = 0, timeout_ms: int = 30_000) -> int:
        """Wait until every visible plotly chart has drawn (and at least `minimum` exist); returns how many."""
        try:
            self.page.wait_for_function(
                f"() => {{ const r = ({_CHARTS_JS})(); return r.visible >= {minimum} && r.drawn === r.visible; }}",
                timeout=timeout_ms,
                polling=200,
            )
        except Exception as e:  # a clear message beats Playwright's timeout text
            state = self.page.evaluate(_CHARTS_JS)
            raise AssertionError(
                f"plotly charts did not draw: {state['drawn']} of {state['visible']} visible "
                f"charts drawn, at least {minimum} expected"
            ) from e
        return self.page.evaluate(_CHARTS_JS)["visible"]

    def errors(self) -> list[str]:
        """Texts of exception boxes and error alerts on the page (an exception's own alert counted once)."""
        return self.page.evaluate(_ERRORS_JS)

    def assert_clean(self) -> None:
        """No exception box, no error alert, no uncaught JavaScript error."""
        errs = self.errors() + [f"JavaScript error: {e}" for e in self.js_errors]
        assert not errs, f"error box(es) on {self.page.url}:\n" + "\n---\n".join(errs)

    def check_page(self, name: str, *, min_charts: int = 0) -> int:
        """Wait for the charts, screenshot as `name`, then assert no error boxes; returns the number of charts."""
        try:
            n = self.wait_charts(min_charts)
        finally:
            self.screenshot(name)  # also when a chart failed: the picture shows why
        self.assert_clean()
        return n

    def screenshot(self, name: str) -> Path:
        """A full-page PNG in artifacts/screenshots/ (the main area scrolls, so the viewport is grown first)."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        height = self.page.evaluate(_HEIGHT_JS)
        path = SHOTS / f"{name}.png"
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": min(max(height, 900), 8000)})
        self.page.mouse.move(1, 1)  # no hover tooltip or plotly toolbar from the last click in the picture
        try:
            self.page.wait_for_timeout(400)  # plotly re-lays out on resize
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(VIEWPORT)
        return path
