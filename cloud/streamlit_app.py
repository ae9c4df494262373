"""Streamlit Community Cloud's entrypoint: the same app as `../streamlit_app.py`, with its own requirements file.

Community Cloud reads the dependency file in the entrypoint's folder before the root's, so choosing this file as the
main file makes it install `cloud/requirements.txt`: torch's CPU build from PyTorch's own index, then the root
requirements. The root files never name that index, so a fresh machine without it (and CI) installs as before.

Streamlit puts this folder, not the root, on `sys.path`, and runs this file on every rerun; the pages are named by
absolute paths (`appkit.frame.navigation.page_file`), so the router below resolves them whichever entrypoint started it.
"""

import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

runpy.run_path(str(ROOT / "streamlit_app.py"), run_name="__main__")
