"""Checks of a run that came from outside (an imported zip, a folder dropped into the runs folder), before anything
is built from it.

Part of stage 4 (run folders). The schema (`schema.py`) checks the manifest's frame; these check what it declares:
- the network: its kind is registered (or "custom", a module of your own that nnlab never builds), its config
  rebuilds, and the network, built on torch's meta device (no memory), holds no more parameters than training may
  build (`NNLAB_MAX_PARAMS`, `models.budget`);
- every array file's safetensors header (read without its data): well formed, its offsets inside the file, and
  for a snapshot of an nnlab network, tensor names and shapes that match that network (`param/`, `buffer/`,
  `grad/`, `opt/`);
- the dataset: registered here (built-in, plug-in or a file in the data folder), or "custom" (a loop of your own).
Each failure is a `RunError` whose `reason` starts with the file it concerns and names what is missing and what
there is instead. None of them allocates the declared network or reads a tensor's data.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Mapping
from pathlib import Path

import torch

from ..models import config_from_dict, model_kind, model_kinds
from ..models.budget import limits
from .store import MANIFEST, RunError, UnknownName

__all__ = [
    "MANIFEST",
    "CUSTOM",
    "check_dataset",
    "check_files",
    "check_manifest",
    "check_snapshot",
    "network_shapes",
    "read_header",
]

CUSTOM = "custom"  # the kind and the dataset name of a run recorded from your own loop (`nnlab.loop`)
MAX_HEADER = 100 * 2**20  # safetensors' own limit on a header
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
CHECKED_GROUPS = ("param", "buffer", "grad", "opt")  # a snapshot's groups whose shapes follow from the network


def _bad(file: str, problem: str, error: type[RunError] = RunError) -> RunError:
    reason = f"{file} {problem}"
    return error(reason, reason=reason)


def _listed(names, limit: int = 8) -> str:
    names = sorted(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "none"


# --- the network -------------------------------------------------------------------------------------------------
def network_shapes(model: Mapping) -> dict[str, tuple[int, ...]] | None:
    """The tensors a snapshot of the manifest's network holds, `{"param/…": shape, "buffer/…": shape}`, from a build
    on the meta device after the parameter budget; None for a custom module. `RunError` (about manifest.json) for an
    unknown kind, a config that does not rebuild, or a network over the budget."""
    kind = model.get("kind")
    if kind == CUSTOM:
        return None
    kinds = model_kinds()
    if kind not in kinds:
        raise _bad(
            MANIFEST,
            f"declares a network of kind {str(kind)[:40]!r}, which this nnlab does not know "
            f"(it knows {', '.join(kinds)}, and {CUSTOM!r} for a module of your own)",
            UnknownName,
        )
    try:
        config = config_from_dict(model)
    except Exception as e:  # a kind's config may refuse values in its own way
        raise _bad(MANIFEST, f"declares a network that cannot be rebuilt: {str(e)[:200]}") from None
    try:
        with torch.device("meta"):  # no memory: shapes only
            net = model_kind(kind).build(config)
    except Exception as e:  # a kind is a plug-in: whatever its builder raises is a network that cannot be built
        raise _bad(MANIFEST, f"declares a network that cannot be built: {str(e)[:200]}") from None
    n_params = sum(p.numel() for p in net.parameters())
    max_params = limits()[0]
    if n_params > max_params:
        raise _bad(
            MANIFEST,
            f"declares a network ({config.describe()}) of {n_params:,} parameters, more than this server's limit of "
            f"{max_params:,} (NNLAB_MAX_PARAMS) that training is held to",
        )
    shapes = {f"param/{n}": tuple(p.shape) for n, p in net.named_parameters()}
    shapes.update({f"buffer/{n}": tuple(b.shape) for n, b in net.named_buffers()})
    return shapes


# --- array files ---------------------------------------------------------------------------------------------------
def read_header(path: Path, file: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors of a safetensors file, `{name: (dtype, shape)}`, from its header alone (no data is read), after
    checking that the header is well formed and that the tensors fill the data that follows it exactly."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise _bad(file, "is corrupt (shorter than a safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > MAX_HEADER or n > size - 8:
                raise _bad(file, "is corrupt (its header is longer than the file or than 100 MB)")
            raw = f.read(n)
    except OSError as e:
        raise _bad(file, f"cannot be read ({e.strerror or type(e).__name__})") from None
    try:
        header = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _bad(file, "is corrupt (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise _bad(file, "is corrupt (its header is not a table of tensors)")
    tensors, spans = {}, []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        shown = repr(name[:60])
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= info.keys():
            raise _bad(file, f"is corrupt (tensor {shown} lacks a dtype, shape or offsets)")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
            raise _bad(file, f"is corrupt (tensor {shown} has an unknown dtype {str(dtype)[:20]!r})")
        if not isinstance(shape, list) or len(shape) > 16 or not all(_whole(d) for d in shape):
            raise _bad(file, f"is corrupt (tensor {shown} has a shape that is not a list of sizes)")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_whole(o) for o in offsets)):
            raise _bad(file, f"is corrupt (tensor {shown} has bad offsets)")
        begin, end = offsets
        if end - begin != math.prod(shape) * DTYPE_BYTES[dtype] or begin > end:
            raise _bad(file, f"is corrupt (tensor {shown} does not fill its {end - begin:,} bytes)")
        tensors[name] = (dtype, tuple(shape))
        spans.append((begin, end))
    spans.sort()
    covered = 0
    for begin, end in spans:
        if begin != covered:
            raise _bad(file, "is corrupt (its tensors overlap or leave gaps)")
        covered = end
    if covered != size - 8 - n:
        raise _bad(
            file, f"is corrupt (its header describes {covered:,} bytes of data, the file holds {size - 8 - n:,})"
        )
    return tensors


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**53


def check_snapshot(
    tensors: Mapping[str, tuple[str, tuple[int, ...]]], expected: Mapping[str, tuple[int, ...]] | None, file: str
) -> None:
    """A snapshot's tensors against the network's (`network_shapes`): the same parameters and buffers with the same
    shapes; gradients and optimizer state only of its parameters, each of its parameter's shape."""
    if expected is None:  # a custom module: nothing to hold it to
        return
    held = {k: shape for k, (_, shape) in tensors.items() if k.split("/", 1)[0] in ("param", "buffer")}
    missing, extra = expected.keys() - held.keys(), held.keys() - expected.keys()
    if missing or extra:
        said = []
        if missing:
            said.append(f"lacks {_listed(missing)}")
        if extra:
            said.append(f"holds {_listed(extra)}, which the network has not")
        raise _bad(file, f"does not fit the manifest's network: it {' and '.join(said)}")
    for name, want in expected.items():  # in the network's order: the first layer that differs is named
        if held[name] != want:
            shape = held[name]
            raise _bad(
                file,
                f"does not fit the manifest's network: {name} is {_shape(shape)} where the network's is "
                f"{_shape(expected[name])}",
            )
    for name, (_, shape) in tensors.items():
        group, _, rest = name.partition("/")
        if group not in ("grad", "opt"):
            continue
        param = f"param/{rest if group == 'grad' else rest.rpartition('/')[0]}"
        if param not in expected or expected[param] != shape:
            want = f"its parameter's {_shape(expected[param])}" if param in expected else "a parameter of the network"
            raise _bad(file, f"does not fit the manifest's network: {name} is {_shape(shape)}, not {want}")


def _shape(shape) -> str:
    return "×".join(map(str, shape)) if shape else "a single number"


# --- the dataset ---------------------------------------------------------------------------------------------------
def check_dataset(data: Mapping) -> None:
    """The manifest's dataset is registered here, or the "custom" data of a loop of your own."""
    from ..data.registry import list_datasets  # the data folder is scanned: only when a run is checked

    name = data.get("name")
    if name == CUSTOM:
        return
    known = list_datasets()
    if name not in known:
        raise _bad(
            MANIFEST,
            f"names the dataset {str(name)[:60]!r}, which this server does not have (it has {_listed(known, 20)})",
            UnknownName,
        )


# --- the whole run -------------------------------------------------------------------------------------------------
def check_manifest(manifest: Mapping) -> dict[str, tuple[int, ...]] | None:
    """What a manifest declares, before any file is unpacked: the network (`network_shapes`) and the dataset."""
    shapes = network_shapes(manifest["model"])
    check_dataset(manifest["data"])
    return shapes


def check_files(folder: Path, manifest: Mapping, expected: Mapping[str, tuple[int, ...]] | None) -> None:
    """Every array file's header; every snapshot's tensors against the network."""
    for file in dict.fromkeys(s["file"] for s in manifest["snapshots"]):
        check_snapshot(read_header(folder / file, file), expected, file)
    for file in ("eval.safetensors", "steps.safetensors"):
        if (folder / file).exists():
            read_header(folder / file, file)
