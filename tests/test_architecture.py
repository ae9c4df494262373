"""The shape of the house: nnlab never imports streamlit, nothing is pickled, every module says where it sits."""

import ast
import os
import re
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
    assert {"nnlab/models/registry.py", "nnlab/runs/store.py", "nnlab/train.py"} <= files
    assert not any(f.startswith("tests/") for f in files)
    tree = ast.parse("import streamlit as st\nfrom pickle import loads\nimportlib.import_module('dill')")
    assert set(_imports(tree)) == {"streamlit", "pickle", "dill"}


def test_nnlab_source_never_imports_streamlit():
    offenders = [p.relative_to(ROOT).as_posix() for p, tree in _sources("nnlab") if "streamlit" in _imports(tree)]
    assert offenders == []


def test_importing_every_nnlab_module_loads_no_streamlit_umap_captum_or_ray():
    code = (
        "import pkgutil, importlib, sys, nnlab, nnlab.analysis, nnlab.figures\n"
        "for m in pkgutil.walk_packages(nnlab.__path__, 'nnlab.'):\n"
        "    if not m.name.endswith('__main__'):  # a __main__ runs its program\n"
        "        importlib.import_module(m.name)\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('streamlit', 'umap', 'captum', 'ray')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # umap and captum: imported only when an embedding or attribution is asked for; ray (an optional extra that a
    # fresh clone lacks) only when a Ray backend is made, so this passes with or without requirements-ray.txt
    assert proc.stdout.strip() == "[]"


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
    """The router builds its navigation from the one page list (appkit/frame/navigation.py); each entry's script
    exists in app_pages/ and every script there is an entry. None lives in a folder named pages/: Streamlit runs
    such a folder as an old-style multipage app until the router has run once, so on a fresh server a link straight
    to a page (http://host/walkthrough) would open it without the router, the page config or the sidebar."""
    from appkit.frame import navigation

    assert not (ROOT / "pages").exists()
    assert "navigation.st_pages()" in (ROOT / "streamlit_app.py").read_text()
    scripts = [f"app_pages/{entry.name}.py" for entry in navigation.ENTRIES]
    assert len(set(scripts)) == len(scripts) >= 15 and all((ROOT / s).is_file() for s in scripts)
    assert sorted(scripts) == sorted(f"app_pages/{p.name}" for p in (ROOT / "app_pages").glob("*.py"))


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(*folders) -> dict[str, set[str]]:
    """Project module → the project modules it imports (anywhere in the file, lazily too, and under TYPE_CHECKING:
    a circle that only the type checker follows is still one a reader must walk).

    `from . import x` depends on the module `x`, not on the package that holds it.
    """
    files = {_module_name(p): (p, tree) for p, tree in _sources(*folders)}
    graph = {}
    for name, (path, tree) in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join(base + ([node.module] if node.module else []))
                deps |= {f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names}
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or in a loop (strongly connected, more than one)."""
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while not group or group[-1] != v:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                cycles.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_check_finds_a_loop():
    assert import_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other():
    graph = import_graph("nnlab", "appkit")
    assert "nnlab.models.registry" in graph["nnlab.models.points"]  # the graph sees relative imports
    assert graph["nnlab.models.point"] == set()  # Point is a leaf: the registry and points.py both import it
    assert import_cycles(graph) == []


def test_no_code_outside_the_models_package_branches_on_a_kind():
    pattern = re.compile(
        r"isinstance\([^)]*(MLP|CNN)Config|isinstance\([^)]*\bNet\)|[\"'](mlp|cnn)[\"']\s*[!=]=|[!=]=\s*[\"'](mlp|cnn)[\"']"
    )
    offenders = [
        f"{p.relative_to(ROOT).as_posix()}:{i}"
        for p, _ in _sources()
        if p.relative_to(ROOT).parts[:2] != ("nnlab", "models")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_the_app_glue_is_grouped_by_role_behind_a_narrow_facade():
    """appkit: the shared caches at the top, everything else in a folder named for its role; a page's own glue in
    panels/<page>.py for a page of that name; the facade about twenty names, none of them a session key."""
    import appkit
    from appkit.frame import navigation

    top = sorted(p.name for p in (ROOT / "appkit").glob("*.py"))
    assert top == ["__init__.py", "caches.py"]
    assert {p.name for p in (ROOT / "appkit").iterdir() if p.is_dir() and p.name != "__pycache__"} == {
        "session",
        "frame",
        "pickers",
        "training",
        "panels",
    }
    pages = {e.name for e in navigation.ENTRIES}
    panels = {p.stem for p in (ROOT / "appkit" / "panels").glob("*.py")} - {"__init__"}
    strays = [s for s in panels if not any(s == page or s.startswith(f"{page}_") for page in pages)]
    assert len(panels) >= 9 and strays == []
    assert len(appkit.__all__) <= 20
    assert not [n for n in appkit.__all__ if n.endswith("_KEY") or n.isupper()]


def _data_guarded_asserts(tree) -> list[int]:
    """Lines of `if <condition>: assert ...` in a test whose condition reads anything but the test's parameters (a
    branch on a parametrized case is fine; one on what the run happened to produce can skip the assert)."""
    lines = []
    for fn in ast.walk(tree):
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test_")):
            continue
        params = {a.arg for a in fn.args.args}
        for node in ast.walk(fn):
            if isinstance(node, ast.If) and any(isinstance(child, ast.Assert) for child in node.body):
                names = {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
                if not names <= params:
                    lines.append(node.lineno)
    return lines


def test_every_page_has_its_own_test_module():
    """Tests mirror the code: tests/test_page_<page>.py for every page of the one page list, no test module grouped
    by navigation section, and no assert in them behind a condition on the data."""
    from appkit.frame import navigation

    missing = [e.name for e in navigation.ENTRIES if not (ROOT / "tests" / f"test_page_{e.name}.py").is_file()]
    assert missing == []
    assert sorted(p.name for p in (ROOT / "tests").glob("test_app_*.py")) == []
    guarded = [
        f"{p.name}:{line}"
        for p in sorted((ROOT / "tests").glob("test_page_*.py"))
        for line in _data_guarded_asserts(ast.parse(p.read_text()))
    ]
    assert guarded == []


def test_the_guarded_assert_check_tells_a_data_branch_from_a_parameter_branch():
    data = ast.parse("def test_a(run):\n    wrong = run.wrong()\n    if len(wrong):\n        assert wrong[0] > 0\n")
    case = ast.parse("def test_b(which):\n    if which == 2:\n        assert True\n")
    assert _data_guarded_asserts(data) == [3] and _data_guarded_asserts(case) == []
