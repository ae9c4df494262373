"""Downloads of the built-in image datasets into the data folder, in torchvision's layout.

Before stage 1 (data): each file is fetched from its official mirrors in order, with
timeouts and retries, streamed to `<file>.part`, checked against its checksum and only
then renamed into place. A per-file lock lets two users download the same file at once
and end with one good copy. `nnlab.data.images` parses what lands here.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from .formats import CIFAR_BATCHES, CIFAR_DIR, extract_cifar
from .registry import data_dir

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt

Progress = Callable[[int, "int | None", str], None]  # progress(done_bytes, total_bytes or None, filename)
CHUNK = 1 << 16
MAX_DOWNLOAD = 512 * 2**20  # the most bytes accepted for a file whose size the spec does not give


class DownloadError(OSError):
    """A dataset could not be downloaded; the message says which files to fetch by hand, and where to."""


@dataclass(frozen=True)
class RemoteFile:
    """One file on the mirrors."""

    name: str  # file name on the mirrors and in the cache folder
    checksum: str  # "md5:<hex>" or "sha256:<hex>" of the file as downloaded
    size: int | None = None  # bytes: the progress total when a server sends none, and twice it is the cap

    @property
    def plain(self) -> str:
        """The decompressed name torchvision keeps next to the .gz (either one will do)."""
        return self.name.removesuffix(".gz")


@dataclass(frozen=True)
class DownloadSpec:
    """Where a dataset's files come from and where they go."""

    folder: str  # cache folder under the data root: "MNIST/raw", "cifar-10-batches-bin"
    files: tuple[RemoteFile, ...]
    mirrors: tuple[str, ...]  # base URLs tried in order; a file's URL is base + name
    members: tuple[str, ...] = ()  # for an archive: the files it extracts into `folder` (the archive is removed)


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
# Checksums of the official files (the ones torchvision checks); sizes in bytes.
DOWNLOADS: dict[str, DownloadSpec] = {
    "mnist": DownloadSpec(
        "MNIST/raw",
        (
            RemoteFile("train-images-idx3-ubyte.gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873", 9_912_422),
            RemoteFile("train-labels-idx1-ubyte.gz", "md5:d53e105ee54ea40749a09fcbcd1e9432", 28_881),
            RemoteFile("t10k-images-idx3-ubyte.gz", "md5:9fb629c4189551a2d022fa330f9573f3", 1_648_877),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "md5:ec29112dd5afa0611ce80d1b7f02629c", 4_542),
        ),
        _MNIST_MIRRORS,
    ),
    "fashion-mnist": DownloadSpec(
        "FashionMNIST/raw",
        (
            RemoteFile("train-images-idx3-ubyte.gz", "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d", 26_421_880),
            RemoteFile("train-labels-idx1-ubyte.gz", "md5:25c81989df183df01b3e8a0aad5dffbe", 29_515),
            RemoteFile("t10k-images-idx3-ubyte.gz", "md5:bef4ecab320f06d8554ea6380940ec79", 4_422_102),
            RemoteFile("t10k-labels-idx1-ubyte.gz", "md5:bb300cfdad3c16e7a12a480ee83cd310", 5_148),
        ),
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
    ),
    "cifar-10": DownloadSpec(
        CIFAR_DIR,
        (RemoteFile("cifar-10-binary.tar.gz", "md5:c32a1d4ab5d03f1284b67883e8d87530", 170_052_171),),
        ("https://www.cs.toronto.edu/~kriz/",),
        members=(*CIFAR_BATCHES, "batches.meta.txt"),
    ),
}


def _spec(name: str, spec: DownloadSpec | None) -> DownloadSpec:
    if spec is not None:
        return spec
    if name not in DOWNLOADS:
        raise KeyError(f"{name!r} is not a downloadable dataset; choose one of {', '.join(DOWNLOADS)}")
    return DOWNLOADS[name]


def cache_folder(name: str, root: Path | str | None = None, spec: DownloadSpec | None = None) -> Path:
    """The folder that holds `name`'s files once downloaded."""
    return Path(root or data_dir()) / _spec(name, spec).folder


def missing(name: str, root: Path | str | None = None, spec: DownloadSpec | None = None) -> list[RemoteFile]:
    """The files of `name` still to download (a torchvision-decompressed copy counts as present)."""
    spec = _spec(name, spec)
    folder = cache_folder(name, root, spec)
    if spec.members:
        return [] if all((folder / m).is_file() for m in spec.members) else list(spec.files)
    return [f for f in spec.files if not ((folder / f.name).is_file() or (folder / f.plain).is_file())]


def is_cached(name: str, root: Path | str | None = None, spec: DownloadSpec | None = None) -> bool:
    """Whether every file of `name` is already in the data folder."""
    return not missing(name, root, spec)


def download(
    name: str,
    root: Path | str | None = None,
    progress: Progress | None = None,
    *,
    spec: DownloadSpec | None = None,
    timeout: float = 30.0,
    retries: int = 2,
    backoff: float = 1.0,
) -> Path:
    """Download what is missing of dataset `name` into the data folder and return its cache folder.

    Args:
        name: a key of `DOWNLOADS` ("mnist", "fashion-mnist", "cifar-10").
        root: the data folder (default `$NNLAB_DATA_DIR` or `datasets/`).
        progress: called as `progress(done_bytes, total_bytes_or_None, filename)` while a file streams.
        spec: use this spec instead of `DOWNLOADS[name]` (other mirrors or checksums).
        timeout: seconds to wait to connect, and for each read.
        retries: further tries of a mirror after a network error (not after a 404 or a bad checksum).
        backoff: seconds before the first retry, doubled for each next one.
    Returns: the cache folder, e.g. `datasets/MNIST/raw`.
    Raises: DownloadError naming each missing file, its checksum and the folder to put it in by hand.
    """
    spec = _spec(name, spec)
    root = Path(root or data_dir())
    folder = root / spec.folder
    todo = missing(name, root, spec)
    if not todo:
        return folder
    target = root if spec.members else folder  # where the files land (an archive: beside its folder)
    created = [d for d in (target, *target.parents) if not d.exists()]  # deepest first
    target.mkdir(parents=True, exist_ok=True)
    try:
        for remote in todo:
            _get(name, spec, root, target / remote.name, remote, progress, timeout, retries, backoff)
    except BaseException:
        for d in created:  # a failed download leaves no empty folders behind
            with suppress(OSError):
                d.rmdir()
        raise
    return folder


def _get(name, spec, root, dest, remote, progress, timeout, retries, backoff) -> None:
    """Fetch one file under its lock (and extract it, for an archive), unless another download just did."""
    with _locked(dest.with_name(dest.name + ".lock")):
        if remote not in missing(name, root, spec):
            return  # another download finished it while we waited
        if spec.members and dest.is_file():
            _check_placed(dest, remote)  # an archive put there by hand
        elif not dest.is_file():
            errors = _fetch(remote, spec.mirrors, dest, progress, timeout, retries, backoff)
            if errors is not None:
                raise DownloadError(_manual_message(name, spec, root, missing(name, root, spec), errors))
        if spec.members:
            try:
                extract_cifar(dest, root)
            finally:
                dest.unlink(missing_ok=True)  # extracted, or unusable: not kept either way


def _fetch(remote: RemoteFile, mirrors, dest: Path, progress, timeout, retries, backoff) -> list[str] | None:
    """Download `remote` to `dest` via `<dest>.part`; None when done, else the error of each mirror."""
    algo, expected = remote.checksum.split(":", 1)
    part = dest.with_name(dest.name + ".part")
    errors = []
    for base in mirrors:
        url = base + remote.name
        for attempt in range(retries + 1):
            if attempt:
                time.sleep(backoff * 2 ** (attempt - 1))
            try:
                got = _stream(url, part, remote, algo, progress, timeout)
            except urllib.error.HTTPError as e:
                error, transient = f"HTTP {e.code} {e.reason}", e.code >= 500 or e.code == 429
            except urllib.error.URLError as e:
                error, transient = str(e.reason), not isinstance(e.reason, socket.gaierror)  # no DNS: offline
            except (OSError, http.client.HTTPException, ValueError) as e:  # timeouts, resets, cut-off transfers
                error, transient = str(e) or type(e).__name__, True
            except BaseException:
                part.unlink(missing_ok=True)
                raise
            else:
                if got.lower() == expected.lower():
                    os.replace(part, dest)
                    return None
                error, transient = f"checksum mismatch ({algo} {got}, expected {expected})", False
            part.unlink(missing_ok=True)
            if not transient:
                break
        errors.append(f"{url}: {error}")
    return errors


def _stream(url: str, part: Path, remote: RemoteFile, algo: str, progress, timeout: float) -> str:
    """Stream `url` into `part`, reporting progress; returns the hex digest of what was received."""
    request = urllib.request.Request(url, headers={"User-Agent": "nnlab"})
    limit = 2 * remote.size if remote.size else MAX_DOWNLOAD
    digest = hashlib.new(algo)
    with urllib.request.urlopen(request, timeout=timeout) as r, open(part, "wb") as f:
        declared = int(r.headers.get("Content-Length") or 0) or None
        if declared and declared > limit:
            raise ValueError(f"the server offers {declared:,} bytes, more than the {limit:,} expected")
        total, done = declared or remote.size, 0
        if progress:
            progress(0, total, remote.name)
        while chunk := r.read(CHUNK):
            done += len(chunk)
            if done > limit:
                raise ValueError(f"more than the {limit:,} bytes expected")
            digest.update(chunk)
            f.write(chunk)
            if progress:
                progress(done, total, remote.name)
    if declared is not None and done != declared:
        raise ValueError(f"the connection closed after {done:,} of {declared:,} bytes")
    return digest.hexdigest()


def _check_placed(path: Path, remote: RemoteFile) -> None:
    """Raise unless a file placed by hand matches its checksum."""
    algo, expected = remote.checksum.split(":", 1)
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    if digest.hexdigest() != expected.lower():
        raise DownloadError(
            f"{path} does not match its checksum ({algo} {digest.hexdigest()}, expected "
            f"{expected}): delete it and download it again"
        )


def _manual_message(name: str, spec: DownloadSpec, root: Path, files: list[RemoteFile], errors: list[str]) -> str:
    where = (root if spec.members else root / spec.folder).resolve()
    lines = [
        f"Could not download {name}; every mirror failed:",
        *(f"  {e}" for e in errors),
        f"To install it by hand, download these files and put them in {where}:",
    ]
    for f in files:
        algo, value = f.checksum.split(":", 1)
        lines.append(f"  {f.name}  ({algo} {value})  from {' or '.join(m + f.name for m in spec.mirrors)}")
    if spec.members:
        lines.append(f"(nnlab extracts the archive there on first use into {spec.folder}/.)")
    return "\n".join(lines)


@contextmanager
def _locked(path: Path):
    """Hold an exclusive lock file `path` (other threads and processes wait); removed on release."""
    while True:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        try:
            _lock(fd)
            with suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(path)):
                    break  # still the current lock file (not one a previous holder removed)
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        if fcntl:  # unlink before unlocking: a waiter then sees a stale inode and retries
            with suppress(OSError):
                os.unlink(path)
        os.close(fd)  # releases the lock


def _lock(fd: int) -> None:
    if fcntl:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while True:  # msvcrt.locking gives up after 10 s; keep waiting
        try:
            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
            return
        except OSError:
            continue
