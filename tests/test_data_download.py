"""Downloads against a local HTTP server: mirrors, checksums, retries, locking, the loaders and the CLI.

The server on 127.0.0.1 serves the real MNIST test set from ../shared/data/mnist-test and broken
copies made here; no test touches the network beyond it.
"""

import gzip
import hashlib
import http.server
import io
import shutil
import socket
import tarfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from nnlab.cli import main
from nnlab.data import Dataset, load_dataset
from nnlab.data.dataset import split
from nnlab.data.download import DOWNLOADS, DownloadError, DownloadSpec, RemoteFile, download, is_cached
from nnlab.data.formats import CIFAR_BATCHES, CIFAR_DIR, CIFAR_RECORD, DataFileError
from nnlab.data.images import read_cifar_folder, read_idx_split
from nnlab.models import build_model
from nnlab.pipeline import default_model, default_train
from nnlab.train import Trainer

MNIST_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist-test"
MNIST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # from shared/data/README.md
IMAGES, LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
GZIP_SHA256 = {  # the recompressed files' checksums, from shared/data/README.md
    IMAGES: "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b",
    LABELS: "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c",
}
PLAIN_MD5 = {IMAGES: "2646ac647ad5339dbf082846283269ea", LABELS: "27ae3e4e09519cfbb04c329615203637"}
needs_mnist = pytest.mark.skipif(not MNIST_TEST.is_dir(), reason=f"real MNIST test set not found at {MNIST_TEST}")
FAST = {"timeout": 2.0, "retries": 1, "backoff": 0.01}


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus /short/<f> (declares more bytes than it sends) and /slow/<f> (waits first)."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.hits.append(self.path)
        if self.path.startswith("/slow/"):
            time.sleep(0.3)
            self.path = "/good/" + self.path.removeprefix("/slow/")
        if self.path.startswith("/short/"):
            data = (Path(self.directory) / "good" / self.path.removeprefix("/short/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serves good/ (the real files), bad/ (same names, other bytes) and the special paths above."""
    root = tmp_path_factory.mktemp("www")
    (root / "good").mkdir()
    (root / "bad").mkdir()
    for name in (IMAGES, LABELS) if MNIST_TEST.is_dir() else ():
        shutil.copy(MNIST_TEST / name, root / "good" / name)
        (root / "bad" / name).write_bytes(gzip.compress(b"not mnist"))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), lambda *a: Handler(*a, directory=str(root)))
    srv.hits, srv.root = [], root
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


def url(server, folder: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/{folder}/"


def refused_url() -> str:
    """A local port nobody listens on: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def spec(*mirrors, checksums=None, folder="MNIST/raw") -> DownloadSpec:
    sums = checksums or {n: f"sha256:{v}" for n, v in GZIP_SHA256.items()}
    return DownloadSpec(folder, tuple(RemoteFile(n, sums[n]) for n in (IMAGES, LABELS)), tuple(mirrors))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.suffix in (".part", ".lock"))


@needs_mnist
def test_download_verify_parse_real_mnist(server, tmp_path):
    calls = []
    s = spec(refused_url(), url(server, "good"))  # the first mirror refuses connections: the second is used
    assert not is_cached("mnist-test", tmp_path, s)
    folder = download("mnist-test", tmp_path, lambda *a: calls.append(a), spec=s, **FAST)
    assert folder == tmp_path / "MNIST" / "raw" and is_cached("mnist-test", tmp_path, s)
    assert sorted(p.name for p in folder.iterdir()) == [IMAGES, LABELS]
    for name in (IMAGES, LABELS):
        assert hashlib.md5(gzip.decompress((folder / name).read_bytes())).hexdigest() == PLAIN_MD5[name]
    assert calls[-1] == (4542, 4542, LABELS) and (1_648_877, 1_648_877, IMAGES) in calls  # done, total, file
    x, y = read_idx_split(folder, "t10k")
    assert x.shape == (10_000, 1, 28, 28) and x.dtype == np.uint8 and y.dtype == np.int64
    assert np.bincount(y).tolist() == MNIST_COUNTS


@needs_mnist
def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download("mnist-test", tmp_path / "data", spec=spec(url(server, "bad")), **FAST)
    msg = str(e.value)
    assert "checksum mismatch (sha256 " in msg and f"expected {GZIP_SHA256[IMAGES]}" in msg
    assert f"put them in {(tmp_path / 'data' / 'MNIST' / 'raw').resolve()}" in msg
    assert not (tmp_path / "data").exists()  # no bad file, no .part, not even an empty folder


@needs_mnist
def test_bad_mirror_then_good_mirror(server, tmp_path):
    hits = len(server.hits)
    folder = download("mnist-test", tmp_path, spec=spec(url(server, "bad"), url(server, "good")), **FAST)
    assert hashlib.sha256((folder / IMAGES).read_bytes()).hexdigest() == GZIP_SHA256[IMAGES]
    assert [h.split("/")[1] for h in server.hits[hits:]] == ["bad", "good", "bad", "good"]  # no retry after a mismatch
    assert leftovers(tmp_path) == []


@needs_mnist
def test_missing_file_and_cut_transfer_then_next_mirror(server, tmp_path):
    hits = len(server.hits)
    folder = download(
        "mnist-test", tmp_path, spec=spec(url(server, "nowhere"), url(server, "short"), url(server, "good")), **FAST
    )
    assert is_cached("mnist-test", tmp_path, spec()) and leftovers(folder) == []
    # a 404 is not retried; a transfer cut short is (retries=1), then the next mirror is tried
    assert [h.split("/")[1] for h in server.hits[hits : hits + 4]] == ["nowhere", "short", "short", "good"]


def test_offline_error_names_files_checksums_folder(tmp_path):
    s = replace(DOWNLOADS["mnist"], mirrors=(refused_url(), refused_url()))
    with pytest.raises(DownloadError) as e:
        download("mnist", tmp_path, spec=s, timeout=1.0, retries=0)
    msg = str(e.value)
    assert "Could not download mnist" in msg and "Connection refused" in msg
    assert f"put them in {(tmp_path / 'MNIST' / 'raw').resolve()}" in msg
    for f in DOWNLOADS["mnist"].files:
        assert f"{f.name}  (md5 {f.checksum.removeprefix('md5:')})" in msg
    assert list(tmp_path.iterdir()) == []


@needs_mnist
def test_two_downloads_at_once_end_with_one_good_file(server, tmp_path):
    s, hits, results, errors = spec(url(server, "slow")), len(server.hits), [], []
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        try:
            results.append(download("mnist-test", tmp_path, spec=s, **FAST))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and results == [tmp_path / "MNIST" / "raw"] * 2
    assert sorted(server.hits[hits:]) == [f"/slow/{IMAGES}", f"/slow/{LABELS}"]  # each file fetched once
    assert hashlib.sha256((results[0] / IMAGES).read_bytes()).hexdigest() == GZIP_SHA256[IMAGES]
    assert leftovers(tmp_path) == []


@needs_mnist
def test_truncated_and_wrong_magic_files_are_rejected_by_the_parser(server, tmp_path):
    plain = gzip.decompress((MNIST_TEST / IMAGES).read_bytes())
    broken = {"trunc": plain[:-1000], "magic": b"PK\x03\x04" + plain[4:]}  # cut short; a zip's magic number
    for name, data in broken.items():
        (server.root / name).mkdir(exist_ok=True)
        (server.root / name / IMAGES).write_bytes(gzip.compress(data, compresslevel=1))
        shutil.copy(MNIST_TEST / LABELS, server.root / name / LABELS)
        sums = {
            IMAGES: "md5:" + hashlib.md5((server.root / name / IMAGES).read_bytes()).hexdigest(),
            LABELS: f"sha256:{GZIP_SHA256[LABELS]}",
        }  # checksums that match: the download succeeds
        folder = download(name, tmp_path / name, spec=spec(url(server, name), checksums=sums), **FAST)
        with pytest.raises(DataFileError) as e:
            read_idx_split(folder, "t10k")
        if name == "trunc":
            assert str(e.value).startswith(
                f"{IMAGES}: truncated: the header declares 10000×28×28 values "
                "(7,840,000 bytes of data) but the file holds 7,839,000"
            )
        else:
            assert str(e.value).startswith(f"{IMAGES}: wrong magic number 0x504B0304")


@pytest.fixture
def fake_mnist(server, tmp_path, monkeypatch):
    """`mnist` served from the local server (the test set doubles as the training set), data dir in tmp."""
    www = server.root / "mnist"
    if not www.exists():
        www.mkdir()
        for f in (IMAGES, LABELS):
            shutil.copy(MNIST_TEST / f, www / f)
            shutil.copy(MNIST_TEST / f, www / f.replace("t10k", "train"))
    files = tuple(
        RemoteFile(f.name, "sha256:" + hashlib.sha256((www / f.name).read_bytes()).hexdigest())
        for f in DOWNLOADS["mnist"].files
    )
    monkeypatch.setitem(DOWNLOADS, "mnist", replace(DOWNLOADS["mnist"], files=files, mirrors=(url(server, "mnist"),)))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@needs_mnist
def test_registry_loader_downloads_on_first_use(fake_mnist):
    ds = load_dataset("mnist", train_subset=1000)
    assert ds.x_train.shape == (1000, 1, 28, 28) and ds.x_train.dtype == np.uint8 and ds.y_train.dtype == np.int64
    assert ds.x_test.shape == (10_000, 1, 28, 28) and ds.class_counts("test").tolist() == MNIST_COUNTS
    assert ds.mean.shape == (1, 1, 1) and 0.1 < ds.mean.item() < 0.15 and 0.25 < ds.std.item() < 0.35
    assert ds.display_images(ds.x_test[:2]).shape == (2, 28, 28)
    assert is_cached("mnist") and (fake_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").is_file()


@needs_mnist
def test_torchvision_folder_is_reused_without_network(tmp_path, monkeypatch):
    raw = tmp_path / "MNIST" / "raw"  # torchvision keeps the decompressed files (and the .gz) here
    raw.mkdir(parents=True)
    for f in (IMAGES, LABELS):
        data = gzip.decompress((MNIST_TEST / f).read_bytes())
        (raw / f.removesuffix(".gz")).write_bytes(data)
        (raw / f.removesuffix(".gz").replace("t10k", "train")).write_bytes(data)
    monkeypatch.setitem(DOWNLOADS, "mnist", replace(DOWNLOADS["mnist"], mirrors=(refused_url(),)))
    monkeypatch.setenv("NNLAB_DATA_DIR", str(tmp_path))
    assert is_cached("mnist")
    ds = load_dataset("mnist")
    assert len(ds.y_train) == len(ds.y_test) == 10_000


@needs_mnist
def test_cli_download_and_datasets(fake_mnist, capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "not yet: python -m nnlab download mnist" in out and "digits" in out
    assert main(["download", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "mnist: 10,000 train + 10,000 test images of (1, 28, 28), 10 classes" in out
    assert main(["datasets"]) == 0
    assert f"cached: {fake_mnist / 'MNIST' / 'raw'}" in capsys.readouterr().out


@needs_mnist
def test_default_mlp_learns_real_mnist(tmp_path):
    x, y = read_idx_split(MNIST_TEST, "t10k")
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction=0.2, seed=0)  # a seeded 8,000 / 2,000 split
    assert (len(y_tr), len(y_te)) == (8000, 2000)
    ds = Dataset("mnist-test", x_tr, y_tr, x_te, y_te, tuple(map(str, range(10))))
    torch.manual_seed(0)
    net = build_model(default_model(ds))
    train = default_train(ds, epochs=10, device="cpu")  # Adam 3e-3, batches of 128; 5 epochs end near 95%
    trainer = Trainer(net, train, ds.prepare(x_tr), torch.from_numpy(y_tr), ds.prepare(x_te), torch.from_numpy(y_te))
    trainer.fit()  # one torch thread (tests/conftest.py): these matmuls are small
    acc = trainer.history[-1]["test_acc"]
    print(f"default MLP on the real MNIST test set (8,000 train / 2,000 test): test accuracy {acc:.4f}")
    assert trainer.status == "complete" and acc >= 0.95


def cifar_archive(path: Path, extra: dict[str, bytes] | None = None) -> str:
    """A tiny CIFAR-10-shaped archive (2 images per batch); returns its sha256 checksum."""
    members = {f"{CIFAR_DIR}/{b}": bytes([k % 10]) * (2 * CIFAR_RECORD) for k, b in enumerate(CIFAR_BATCHES)}
    members[f"{CIFAR_DIR}/batches.meta.txt"] = "\n".join("abcdefghij").encode()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in {**members, **(extra or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("malicious", [False, True])
def test_cifar_archive_download_and_safe_extraction(server, tmp_path, malicious):
    name = "cifar-bad" if malicious else "cifar"
    (server.root / name).mkdir(exist_ok=True)
    archive = server.root / name / "cifar-10-binary.tar.gz"
    checksum = cifar_archive(archive, {"../../escape.bin": b"x"} if malicious else None)
    s = replace(DOWNLOADS["cifar-10"], files=(RemoteFile(archive.name, checksum),), mirrors=(url(server, name),))
    root = tmp_path / "data"
    if malicious:
        with pytest.raises(DataFileError, match="unexpected member '../../escape.bin'; not the official"):
            download("cifar-10", root, spec=s, **FAST)
        assert not root.exists() and not (tmp_path / "escape.bin").exists()
        return
    folder = download("cifar-10", root, spec=s, **FAST)
    assert folder == root / CIFAR_DIR and [p.name for p in root.iterdir()] == [CIFAR_DIR]  # archive removed
    x_tr, y_tr, x_te, y_te, classes = read_cifar_folder(folder, per_batch=2)
    assert x_tr.shape == (10, 3, 32, 32) and y_tr.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4] and y_te.tolist() == [5, 5]
    assert is_cached("cifar-10", root, s) and classes[:2] == ("a", "b")


def test_cifar_archive_placed_by_hand(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    checksum = cifar_archive(root / "cifar-10-binary.tar.gz")
    s = replace(
        DOWNLOADS["cifar-10"], files=(RemoteFile("cifar-10-binary.tar.gz", checksum),), mirrors=(refused_url(),)
    )
    wrong = replace(s, files=(RemoteFile("cifar-10-binary.tar.gz", "md5:" + "0" * 32),))
    with pytest.raises(DownloadError, match="does not match its checksum .*: delete it and download it again"):
        download("cifar-10", root, spec=wrong, **FAST)
    assert (root / "cifar-10-binary.tar.gz").is_file()  # the user's file is not deleted
    assert download("cifar-10", root, spec=s, **FAST) == root / CIFAR_DIR  # extracted without the network
