"""Managing run folders: list, create, rename, delete, export to zip and import from zip.

Names from users are checked so that they never leave the runs folder. Listing splits the
folders into runs that open and damaged runs (a `DamagedRun` with the reason in words), which
can still be deleted or exported. Imports check the manifest against the schema first, then what it declares
(`check`: a known network within the parameter budget, built on the meta device only, and a known dataset), keep
only the files it names, unpack beside the runs, check every array file's header (each snapshot's tensors against
the network) before any data is read, and only then rename the folder in.
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
from dataclasses import dataclass
from pathlib import Path

from . import check
from .owners import Viewer, check_may_change
from .run import Run
from .schema import MAX_MANIFEST_BYTES, MAX_SNAPSHOTS, ManifestError, parse_manifest
from .store import MANIFEST, RunError, write_manifest

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")  # used with fullmatch: `$` would let "x\n" through
MEMBER_RE = re.compile(
    r"manifest\.json|eval\.safetensors|steps\.safetensors|snapshots/\d{4,6}\.safetensors"
    r"|features/[A-Za-z0-9_]{1,40}-s\d{1,6}-w\d{1,6}-k\d{1,4}/sae\.(?:json|safetensors)"  # sparse autoencoders
)
MAX_SAES = 64  # sparse autoencoders one run may carry in its zip (two files each)
MAX_IMPORT_BYTES = 512 * 2**20  # unpacked size of an imported run
MAX_MEMBERS = MAX_SNAPSHOTS + 4  # the snapshots, manifest, eval and steps files, and a snapshots/ folder entry
MAX_RATIO = 100  # unpacked/packed size of one member


@dataclass(frozen=True)
class DamagedRun:
    """A run folder that does not open: its id (folder name) and why, in words (no server path)."""

    id: str
    reason: str  # "manifest.json has a bad 'created': …", "snapshots/0003.safetensors is missing"


def runs_dir() -> Path:
    """The runs folder: `$NNLAB_RUNS_DIR`, default `runs/`."""
    return Path(os.environ.get("NNLAB_RUNS_DIR", "runs"))


def check_name(name: str) -> str:
    """Return `name` if it is a safe run name (letters, digits, `.`, `_`, `-`; not a path), else raise."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in (".", ".."):
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
    raise RunError(f"Could not find a free run name for {base!r}: a thousand runs of that name this second")


def _looks_like_run(folder: Path) -> bool:
    """A run folder, whole or damaged: it has a manifest, or the snapshots of one (hidden folders are imports)."""
    if folder.name.startswith(".") or not folder.is_dir():
        return False
    return (folder / MANIFEST).exists() or (folder / "snapshots").is_dir()


def scan_runs(root: Path | str | None = None) -> tuple[list[Run], list[DamagedRun]]:
    """The runs under `root` that open, newest first, and the damaged ones, by id (other folders are ignored)."""
    root = Path(root or runs_dir())
    runs, damaged = [], []
    if root.is_dir():
        for folder in root.iterdir():
            if not _looks_like_run(folder):
                continue
            try:
                runs.append(Run(folder))
            except RunError as e:
                damaged.append(DamagedRun(folder.name, e.reason))
            except OSError as e:  # a folder that vanished or cannot be read while it is listed
                damaged.append(DamagedRun(folder.name, f"the folder cannot be read ({e.strerror or type(e).__name__})"))
    # the schema checked both: "created" is sortable text with whole seconds, "started" a float (or absent)
    # that orders two runs made in the same second
    runs.sort(key=lambda r: (r.created, r.manifest.get("started") or 0.0), reverse=True)
    return runs, sorted(damaged, key=lambda d: d.id)


def list_runs(root: Path | str | None = None) -> list[Run]:
    """Every run under `root` that opens, newest first; damaged ones are left out (see `list_damaged`)."""
    return scan_runs(root)[0]


def list_damaged(root: Path | str | None = None) -> list[DamagedRun]:
    """The run folders under `root` that do not open, each with the reason in words, by id."""
    return scan_runs(root)[1]


def rename_run(root: Path | str, old: str, new: str, *, by: Viewer | None = None) -> Path:
    """Rename run folder `old` to `new` (both checked); the manifest's name follows. With `by`, only a run that
    viewer may change (`owners.may_change`) is renamed."""
    src, dst = run_path(root, old), run_path(root, new)
    if not src.is_dir():
        raise RunError(f"No run named {old!r}")
    run = Run(src)
    check_may_change(run.manifest, by, old, "renamed")
    if dst.exists():
        raise RunError(f"A run named {new!r} already exists")
    _refuse_if_running(run, "renamed")
    os.replace(src, dst)
    run.manifest["name"] = new
    write_manifest(dst, run.manifest)
    return dst


def delete_run(root: Path | str, name: str, *, by: Viewer | None = None) -> None:
    """Delete run folder `name`, whole or damaged (not while it is training). With `by`, only a run that viewer may
    change is deleted (a damaged run, whose owner cannot be read, only by a teacher or keeper)."""
    path = run_path(root, name)
    if not _looks_like_run(path):
        raise RunError(f"No run named {name!r}")
    try:
        run = Run(path)
    except RunError:
        run = None  # a broken run can always be deleted (by its keeper or the teacher)
    check_may_change(run.manifest if run is not None else {}, by, name, "deleted")
    if run is not None:
        _refuse_if_running(run, "deleted")
    shutil.rmtree(path)


def _refuse_if_running(run: Run, what: str) -> None:
    """A run whose writer is alive would be re-created by its writer's next file: stop it first."""
    if run.status == "running":
        raise RunError(f"Run {run.id!r} is still training; stop it before it can be {what}")


def export_zip(run_folder: Path | str, *, damaged: bool = False) -> bytes:
    """The run folder as zip bytes (members relative to the run folder).

    A run that does not open is refused, unless `damaged`: then its run files are packed as they are, so that
    it can be looked at elsewhere (importing such a zip is refused, with the reason).
    """
    folder = Path(run_folder)
    if not damaged:
        Run(folder)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(folder).as_posix()
            if path.is_file() and not path.is_symlink() and MEMBER_RE.fullmatch(rel):
                zf.write(path, rel)
    return buf.getvalue()


def _members(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The zip's files by name, after checking each is a run file, appears once and is not a zip bomb."""
    infos = zf.infolist()
    saes = sum(info.filename.startswith("features/") for info in infos)  # counted apart: MAX_SAES of them
    if len(infos) - saes > MAX_MEMBERS:
        raise RunError(f"The zip holds {len(infos):,} files; a run has at most {MAX_MEMBERS:,}")
    if saes > 3 * MAX_SAES + 1:  # two files and a folder entry each, and features/
        raise RunError(f"The zip holds {saes:,} files of sparse autoencoders; a run carries at most {MAX_SAES}")
    members = {}
    for info in infos:
        if info.is_dir():
            continue
        if not MEMBER_RE.fullmatch(info.filename):
            raise RunError(f"The zip holds {info.filename[:80]!r}, which is not part of a run folder")
        if info.filename in members:
            raise RunError(f"The zip holds {info.filename!r} twice")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 2**20:
            raise RunError(f"{info.filename!r} expands {info.file_size // max(info.compress_size, 1)}× (a zip bomb?)")
        members[info.filename] = info
    return members


def _zip_manifest(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo]) -> dict:
    """The zip's manifest, checked against the schema (read no further than its size limit)."""
    info = members.get(MANIFEST)
    if info is None:
        raise RunError("The zip has no manifest.json at its top level: it is not an nnlab run")
    with zf.open(info) as f:
        raw = f.read(MAX_MANIFEST_BYTES + 1)
    try:
        return parse_manifest(raw)
    except ManifestError as e:
        raise RunError(f"The zip's {e}") from None


def _check_saes(folder: Path, manifest: dict) -> None:
    """Each sparse autoencoder unpacked with a run: its entry within the limits, for a point of the run's network of
    the width it declares, and its tensors' header fitting the entry (`nnlab.analysis.sae.check_sae_files`)."""
    root = folder / "features"
    if not root.is_dir():
        return
    from .sae_files import check_sae_files, point_width

    run = Run(folder)
    for sub in sorted(root.iterdir()):
        prefix = f"features/{sub.name}"
        entry = check_sae_files(sub, prefix)
        if run.model_config is None:
            raise RunError(f"{prefix} is for a network of your own, whose points nnlab does not know")
        try:
            d_in = point_width(run.point(entry["point"]))
        except KeyError:
            raise RunError(
                f"{prefix}/sae.json names the point {entry['point'][:40]!r}, which the network has not"
            ) from None
        check_sae_files(sub, prefix, d_in)
        if not 0 <= entry["snapshot"] < len(manifest["snapshots"]):
            raise RunError(f"{prefix}/sae.json names snapshot {entry['snapshot']}, which the run has not")


def import_zip(root: Path | str, data: bytes, name: str, *, owner: str | None = None) -> Path:
    """Unpack a run zip under `root` as `name`, after checking it; nothing is left on failure.

    The run is `owner`'s (None: shared with everyone); whoever owned it elsewhere, or saw it there, is dropped.

    The manifest is checked against the schema first; then only the files it names (eval, steps and its
    snapshots) are unpacked, and every one must parse. A zip that fails says why in a `RunError`.
    """
    dst = run_path(root, name)
    if dst.exists():
        raise RunError(f"A run named {name!r} already exists")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise RunError("The upload is not a zip file") from None
    tmp = None
    try:
        with zf:
            members = _members(zf)
            manifest = _zip_manifest(zf, members)
            try:
                expected = check.check_manifest(manifest)  # nothing unpacked, nothing allocated
            except RunError as e:
                raise RunError(f"The zip's {e.reason}") from None
            snapshot_files = list(dict.fromkeys(s["file"] for s in manifest["snapshots"]))
            wanted = [MANIFEST, "eval.safetensors", "steps.safetensors", *snapshot_files]
            for file in snapshot_files:
                if file not in members:
                    raise RunError(f"The zip lacks {file}, which its manifest lists as a snapshot")
            saes = sorted(f for f in members if f.startswith("features/"))
            for f in saes:
                if (
                    f.rpartition("/")[0] + ("/sae.json" if f.endswith(".safetensors") else "/sae.safetensors")
                    not in members
                ):
                    raise RunError(f"The zip holds {f} without the other file of its sparse autoencoder")
            if len(saes) > 2 * MAX_SAES:
                raise RunError(f"The zip holds {len(saes) // 2} sparse autoencoders; a run carries at most {MAX_SAES}")
            wanted += saes
            kept = [members[f] for f in wanted if f in members]  # files the manifest does not name are left out
            total = sum(info.file_size for info in kept)
            if total > MAX_IMPORT_BYTES:
                raise RunError(
                    f"The zip unpacks to {total / 2**20:.0f} MB; the limit is {MAX_IMPORT_BYTES // 2**20} MB"
                )
            Path(root).mkdir(parents=True, exist_ok=True)
            tmp = Path(root) / f".import-{uuid.uuid4().hex[:12]}"
            folder = tmp / name  # named as it will be, so that messages name the run, not the temporary folder
            folder.mkdir(parents=True)  # with the umask's permissions, like every other run folder
            for info in kept:
                out = folder / info.filename
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as f:
                    shutil.copyfileobj(src, f, 2**20)
        try:
            check.check_files(folder, manifest, expected)  # headers only: shapes before any data is read
        except RunError as e:
            raise RunError(f"The zip's {e.reason}") from None
        try:
            _check_saes(folder, manifest)  # headers and entries against the network's points, before any data
            run = Run(folder)
            for k in range(len(run)):
                run.snapshot(k)  # every array file must parse
            run.steps()
            if (folder / "eval.safetensors").exists():
                run.eval_set()
        except RunError as e:
            raise RunError(f"The zip's {e.reason}") from None
        run.manifest["name"] = name
        for field in ("owner", "shared", "shared_with"):
            run.manifest.pop(field, None)
        if owner:
            run.manifest["owner"] = owner
        run.manifest["status"] = run.status if run.status != "running" else "interrupted"
        write_manifest(folder, run.manifest)
        os.replace(folder, dst)
    except (zipfile.BadZipFile, zlib.error, EOFError, KeyError) as e:
        raise RunError(f"The zip is damaged or is not an nnlab run: {type(e).__name__}: {e}") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return dst
