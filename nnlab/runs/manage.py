"""Managing run folders: list, create, rename, delete, export to zip and import from zip.

Names from users are checked so that they never leave the runs folder; imports are
validated member by member and unpacked beside the runs before a rename moves them in.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
import uuid
import zipfile
import zlib
from pathlib import Path

from .run import Run
from .store import MANIFEST, RunError, write_manifest

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
MEMBER_RE = re.compile(r"^(manifest\.json|eval\.safetensors|steps\.safetensors|snapshots/\d{4,6}\.safetensors)$")
MAX_IMPORT_BYTES = 512 * 2**20  # unpacked size of an imported run
MAX_MEMBERS = 10_000
MAX_RATIO = 100  # unpacked/packed size of one member


def runs_dir() -> Path:
    """The runs folder: `$NNLAB_RUNS_DIR`, default `runs/`."""
    return Path(os.environ.get("NNLAB_RUNS_DIR", "runs"))


def check_name(name: str) -> str:
    """Return `name` if it is a safe run name (letters, digits, `.`, `_`, `-`; not a path), else raise."""
    if not isinstance(name, str) or not NAME_RE.match(name) or name in (".", ".."):
        raise ValueError(
            f"{name!r} is not a valid run name: use letters, digits, '.', '_' and '-' "
            "(at most 80, starting with a letter or digit)"
        )
    return name


def run_path(root: Path | str, name: str) -> Path:
    root = Path(root).resolve()
    path = (root / check_name(name)).resolve()
    if path.parent != root:
        raise ValueError(f"{name!r} would leave the runs folder")
    return path


def new_run_folder(root: Path | str, prefix: str) -> Path:
    """A fresh, unused folder name under `root`: `<prefix>-<date>-<time>[-n]`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", prefix).strip("-.")[:40] or "run"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1000):
        name = f"{base}-{stamp}" + (f"-{n}" if n else "")
        try:
            (root / name).mkdir()
            return root / name
        except FileExistsError:
            continue
    raise RunError(f"Could not find a free run name under {root}")


def list_runs(root: Path | str | None = None) -> list[Run]:
    """Every readable run under `root`, newest first (unreadable folders are skipped)."""
    root = Path(root or runs_dir())
    runs = []
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and (folder / MANIFEST).is_file():
                try:
                    runs.append(Run(folder))
                except RunError:
                    continue
    # "created" has whole seconds; "started" (a float) orders two runs made in the same second
    return sorted(runs, key=lambda r: (r.manifest.get("created", ""), r.manifest.get("started") or 0), reverse=True)


def rename_run(root: Path | str, old: str, new: str) -> Path:
    """Rename run folder `old` to `new` (both checked); the manifest's name follows."""
    src, dst = run_path(root, old), run_path(root, new)
    if not src.is_dir():
        raise RunError(f"No run named {old!r}")
    if dst.exists():
        raise RunError(f"A run named {new!r} already exists")
    run = Run(src)
    _refuse_if_running(run, "renamed")
    os.replace(src, dst)
    run.manifest["name"] = new
    write_manifest(dst, run.manifest)
    return dst


def delete_run(root: Path | str, name: str) -> None:
    path = run_path(root, name)
    if not (path / MANIFEST).is_file():
        raise RunError(f"No run named {name!r}")
    try:
        run = Run(path)
    except RunError:
        run = None  # a broken run can always be deleted
    if run is not None:
        _refuse_if_running(run, "deleted")
    shutil.rmtree(path)


def _refuse_if_running(run: Run, what: str) -> None:
    """A run whose writer is alive would be re-created by its writer's next file: stop it first."""
    if run.status == "running":
        raise RunError(f"Run {run.id!r} is still training; stop it before it can be {what}")


def export_zip(run_folder: Path | str) -> bytes:
    """The run folder as zip bytes (members relative to the run folder)."""
    folder = Path(run_folder)
    Run(folder)  # refuse to export a broken run
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and MEMBER_RE.match(rel):
                zf.write(path, rel)
    return buf.getvalue()


def import_zip(root: Path | str, data: bytes, name: str) -> Path:
    """Unpack a run zip under `root` as `name`, after checking every member; nothing is left on failure."""
    dst = run_path(root, name)
    if dst.exists():
        raise RunError(f"A run named {name!r} already exists")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RunError("The upload is not a zip file") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise RunError(f"The zip holds {len(infos)} files; a run has at most {MAX_MEMBERS}")
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            if not MEMBER_RE.match(info.filename):
                raise RunError(f"The zip holds {info.filename!r}, which is not part of a run folder")
            total += info.file_size
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
                raise RunError(
                    f"{info.filename!r} expands {info.file_size // max(info.compress_size, 1)}× (a zip bomb?)"
                )
        if total > MAX_IMPORT_BYTES:
            raise RunError(f"The zip unpacks to {total / 2**20:.0f} MB; the limit is {MAX_IMPORT_BYTES // 2**20} MB")
        if MANIFEST not in zf.namelist():
            raise RunError("The zip has no manifest.json at its top level: it is not an nnlab run")
        Path(root).mkdir(parents=True, exist_ok=True)
        tmp = Path(root) / f".import-{uuid.uuid4().hex[:12]}"
        tmp.mkdir()  # with the umask's permissions, like every other run folder
        try:
            for info in infos:
                if info.is_dir():
                    continue
                out = tmp / info.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f, 2**20)
            run = Run(tmp)
            for k in range(len(run)):
                run.snapshot(k)  # every array file must parse
            run.steps()
            if (tmp / "eval.safetensors").exists():
                run.eval_set()
            run.manifest["name"] = name
            run.manifest["status"] = run.status if run.status != "running" else "interrupted"
            write_manifest(tmp, run.manifest)
            os.replace(tmp, dst)
        except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RunError(f"The zip is damaged or is not an nnlab run: {type(e).__name__}: {e}") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return dst
