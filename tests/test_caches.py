"""Every Streamlit cache in the app is bounded twice: an entry limit and a time-to-live, so a class's working set
fits and memory comes back after the class leaves. Read from the source (AST), so no page needs to run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHES = {"cache_data", "cache_resource"}

# Caches that still lack a limit, in files their owners are editing now; each is to get `ttl` (and `max_entries`)
# there, and then leaves this list (the test fails on a listed cache that has both, so the list only shrinks).
PENDING = {
    ("appkit/pickers/own_input.py", "_place"),
}


def cache_calls() -> list[tuple[str, str, set[str], bool]]:
    """(file, function, keyword names, is a singleton) of every st.cache_data/st.cache_resource call or decorator.

    The function is the decorated one, or the one the call is made in (a wrapper such as `run_cached`). A
    singleton is a cached function without parameters: one entry, never released (the job registry: releasing it
    would stop every training)."""
    out = []
    files = sorted((ROOT / "appkit").rglob("*.py")) + sorted((ROOT / "app_pages").glob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            singleton = not (fn.args.args or fn.args.posonlyargs or fn.args.kwonlyargs or fn.args.vararg)
            decorated = {id(d) for d in fn.decorator_list}
            bare = [d for d in fn.decorator_list if isinstance(d, ast.Attribute)]  # @st.cache_data, no limits
            calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
            for node in bare + calls:
                if (node if node in bare else node.func).attr not in CACHES:
                    continue
                kwargs = set() if node in bare else {k.arg for k in node.keywords}
                name = fn.name if id(node) in decorated else _enclosing(tree, fn).name
                out.append((str(path.relative_to(ROOT)), name, kwargs, singleton and id(node) in decorated))
    return list(dict.fromkeys((f, n, frozenset(k), s) for f, n, k, s in out))


def _enclosing(tree, fn):
    """The outermost function holding `fn` (a decorator factory's inner functions belong to the factory)."""
    for top in ast.walk(tree):
        if isinstance(top, ast.FunctionDef) and any(n is fn for n in ast.walk(top)):
            return top
    return fn


def test_the_audit_sees_every_cache():
    found = {(f, n) for f, n, _, _ in cache_calls()}
    assert {
        ("appkit/caches.py", "run_cached"),
        ("appkit/caches.py", "job_registry"),
        ("appkit/panels/photo.py", "_loaded"),
    } <= found
    assert len(found) >= 10


def test_every_cache_has_an_entry_limit_and_a_time_to_live():
    missing, fixed = [], []
    for file, name, kwargs, singleton in cache_calls():
        if singleton:
            assert "ttl" not in kwargs, f"{file}:{name} is a server-wide singleton: a ttl would release it"
            continue
        ok = {"max_entries", "ttl"} <= kwargs
        if (file, name) in PENDING:
            if ok:
                fixed.append(f"{file}:{name}")
        elif not ok:
            missing.append(f"{file}:{name} lacks {sorted({'max_entries', 'ttl'} - kwargs)}")
    assert not missing, "caches without both limits: " + "; ".join(missing)
    assert not fixed, "these caches have both limits now: take them off PENDING: " + ", ".join(fixed)


def test_a_snapshot_cache_works_out_each_snapshot_once_per_run(tiny_run, tmp_path):
    import shutil

    import appkit
    from nnlab.runs import Run

    calls = []

    @appkit.snapshot_cached(max_entries=16)
    def part(run, k, scale):
        calls.append((run.folder.name, k, scale))
        return k * scale

    assert [part(tiny_run, k, 2) for k in range(3)] == [0, 2, 4]
    assert [part(tiny_run, k, 2) for k in range(3)] == [0, 2, 4] and len(calls) == 3  # all three from the cache
    assert part(tiny_run, 1, 3) == 3 and len(calls) == 4  # another argument is another entry
    shutil.copytree(tiny_run.folder, tmp_path / "copy")
    assert part(Run(tmp_path / "copy"), 1, 2) == 2 and calls[-1] == ("copy", 1, 2)  # another run folder
    part.clear()


def test_a_snapshot_caches_underscore_keywords_are_not_part_of_its_key(tiny_run):
    import appkit

    calls = []

    @appkit.snapshot_cached(max_entries=16)
    def part(run, k, scale, *, _grid):
        calls.append((k, scale))
        return k * scale + len(_grid)

    assert part(tiny_run, 1, 2, _grid=[0, 0]) == 4
    assert part(tiny_run, 1, 2, _grid=[0]) == 4 and len(calls) == 1  # an unhashable helper, not a key
    assert part(tiny_run, 1, 3, _grid=[0]) == 4 and len(calls) == 2


def test_a_snapshot_cache_outlives_its_page_script_decorating_it_again(tiny_run):
    import appkit

    calls = []

    def page_script():  # a page runs its script, and so its decorators, again on every rerun
        @appkit.snapshot_cached(max_entries=16)
        def part(run, k):
            calls.append(k)
            return k

        return part(tiny_run, 0)

    assert page_script() == 0 and page_script() == 0 and calls == [0]


def test_the_snapshot_memo_drops_the_least_recently_used_and_the_expired():
    from nnlab.memo import Memo

    now = [0.0]
    memo, made = Memo(max_entries=2, ttl=10, clock=lambda: now[0]), []

    def get(key):
        return memo.get(key, lambda: made.append(key) or key.upper())

    assert get("a") == "A" and get("b") == "B" and get("a") == "A" and made == ["a", "b"]
    get("c")  # over two entries: "b" was used least recently
    assert len(memo) == 2 and get("a") == "A" and made == ["a", "b", "c"]
    get("b")
    assert made[-1] == "b"  # it was dropped, so it is made again
    now[0] = 11.0  # every entry unused for longer than the time to live
    get("a")
    assert made[-1] == "a" and len(memo) == 1
