"""The shape of the house: nnlab never imports streamlit, nothing is pickled, every module says where it sits."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICKLE_MODULES = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "shelve"}


def _sources(*folders):
    """Python files of the project (not tests, not hidden folders or virtual environments)."""
    top = {"tests", "datasets", "runs", "artifacts"}  # top-level folders that hold no project code
    anywhere = {"node_modules", "venv", "site-packages", "__pycache__"}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).parts
        if parts[0] in top or any(p.startswith(".") or p in anywhere for p in parts[:-1]):
            continue
        if folders and parts[0] not in folders:
            continue
        yield path, ast.parse(path.read_text(), str(path))


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield str(node.args[0].value).split(".")[0]


def test_the_checks_see_the_project():
    files = {p.relative_to(ROOT).as_posix() for p, _ in _sources()}
    assert {"nnlab/models.py", "nnlab/runs/store.py", "nnlab/train.py"} <= files
    assert not any(f.startswith("tests/") for f in files)
    tree = ast.parse("import streamlit as st\nfrom pickle import loads\nimportlib.import_module('dill')")
    assert set(_imports(tree)) == {"streamlit", "pickle", "dill"}


def test_nnlab_source_never_imports_streamlit():
    offenders = [p.relative_to(ROOT).as_posix() for p, tree in _sources("nnlab") if "streamlit" in _imports(tree)]
    assert offenders == []


def test_importing_every_nnlab_module_loads_no_streamlit_umap_or_captum():
    code = (
        "import pkgutil, importlib, sys, nnlab, nnlab.analysis, nnlab.figures\n"
        "for m in pkgutil.walk_packages(nnlab.__path__, 'nnlab.'):\n"
        "    if not m.name.endswith('__main__'):  # a __main__ runs its program\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('streamlit', 'umap', 'captum')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"  # umap and captum: imported only when an embedding or attribution is asked for


def _pickle_uses(tree, text):
    """What in one file could unpickle: pickle-family imports, read_pickle, allow_pickle, torch.load unguarded."""
    found = [f"imports {m}" for m in _imports(tree) if m in PICKLE_MODULES]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        kw = {k.arg: k.value for k in node.keywords}
        allow, weights_only = kw.get("allow_pickle"), kw.get("weights_only")
        if name in ("read_pickle", "to_pickle"):
            found.append(f"line {node.lineno}: {name}")
        if isinstance(allow, ast.Constant) and allow.value is not False:
            found.append(f"line {node.lineno}: allow_pickle={allow.value}")
        torch_load = name == "load" and getattr(getattr(node.func, "value", None), "id", "") == "torch"
        if torch_load and not (isinstance(weights_only, ast.Constant) and weights_only.value is True):
            found.append(f"line {node.lineno}: torch.load without weights_only=True")
    return found + [s for s in ("allow_pickle=True", "weights_only=False") if s in text]


def test_the_pickle_check_finds_what_it_looks_for():
    src = (
        "import pickle\nimport numpy as np, torch, pandas as pd\nnp.load('a.npz', allow_pickle=True)\n"
        "torch.load('m.pt')\ntorch.load('m.pt', weights_only=False)\npd.read_pickle('x')\n"
        "torch.load('ok.pt', weights_only=True)\nnp.load('ok.npz')\n"
    )
    assert len(_pickle_uses(ast.parse(src), src)) == 7


def test_nothing_is_pickled_outside_tests():
    problems = [
        f"{p.relative_to(ROOT).as_posix()}: {problem}"
        for p, tree in _sources()
        for problem in _pickle_uses(tree, p.read_text())
    ]
    assert problems == []


def test_every_nnlab_module_has_a_docstring():
    assert [p.relative_to(ROOT).as_posix() for p, tree in _sources("nnlab") if not ast.get_docstring(tree)] == []


def test_every_page_goes_through_the_router():
    """Each st.Page of streamlit_app.py exists, and none lives in a folder named pages/ next to it: Streamlit runs
    such a folder as an old-style multipage app until the router has run once, so on a fresh server a link straight
    to a page (http://host/walkthrough) would open it without the router, the page config or the sidebar."""
    assert not (ROOT / "pages").exists()
    app = ast.parse((ROOT / "streamlit_app.py").read_text())
    scripts = [
        node.args[0].value
        for node in ast.walk(app)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "Page" and node.args
    ]
    assert len(scripts) == 11 and all((ROOT / s).is_file() for s in scripts)
    assert sorted(scripts) == sorted(f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py"))
