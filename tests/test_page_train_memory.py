"""A dataset of huge images on the Train page under a cap on address space: a refusal in words, not a MemoryError.

The default MLP on 2048×2048 images would have 537 M parameters (2 GB of float32 before its gradients); the page sizes
it on the meta device and refuses it. The app runs in a child process whose address space is capped at what it uses
plus 1.5 GB, so building the network for real would fail.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=120)
at.run()
at.switch_page("app_pages/train.py").run()
at.selectbox(key="train_dataset").set_value("huge").run()
used = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
resource.setrlimit(resource.RLIMIT_AS, (used + 1536 * 2**20, resource.RLIM_INFINITY))
at.run()  # the form again, now under the cap
print(json.dumps({
    "errors": [str(e.value) for e in at.error],
    "exceptions": [str(e.value) for e in at.exception],
    "start_disabled": at.button(key="train_start").disabled,
}))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc/self/statm are Linux's")
def test_huge_images_are_refused_in_words_under_a_memory_cap(tmp_path):
    data, runs = tmp_path / "data", tmp_path / "runs"
    data.mkdir()
    runs.mkdir()
    x = np.zeros((12, 2048, 2048), np.uint8)
    x[:, ::7, ::5] = 255
    np.savez(data / "huge.npz", x_train=x, y_train=np.arange(12) % 2)  # 50 MB, stored: not a zip bomb
    env = {"NNLAB_DATA_DIR": str(data), "NNLAB_RUNS_DIR": str(runs), "NNLAB_SPARE_WORKER": "0", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(ROOT / "streamlit_app.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**__import__("os").environ, **env},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == []
    assert any("parameters, more than this server's limit" in e for e in result["errors"]), result
    assert result["start_disabled"]
