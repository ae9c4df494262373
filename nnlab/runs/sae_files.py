"""The sparse autoencoders saved in a run folder: their names, JSON entries and header checks.

Part of stage 4 (run folders). `nnlab.analysis.sae` trains and saves them under `<run>/features/<name>/`
(`sae.safetensors` and `sae.json`); an imported zip carries them (`manage.import_zip`), and both check them here
before any tensor is read or allocated: the entry's sizes against the limits and the point's width, the tensors'
header against the entry.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from .check import read_header
from .store import RunError

FEATURES_DIR = "features"  # inside a run folder
SAE_FORMAT = 1
NAME_RE = re.compile(r"(?P<point>[A-Za-z0-9_]{1,40})-s(?P<snapshot>\d{1,6})-w(?P<width>\d{1,6})-k(?P<k>\d{1,4})")
MAX_WIDTH = 16384  # features of one SAE
MAX_SAE_PARAMS = 2 * 2**24  # encoder + decoder weights: 128 MB in float32


def point_width(point) -> int:
    """The length of one SAE vector at `point` (with its shape): a map's channels, a token's width, else all."""
    if point.layout == "map":
        return point.shape[0]
    if point.layout == "tokens":
        return point.shape[-1]
    return math.prod(point.shape)


def sae_name(point: str, snapshot: int, width: int, k: int) -> str:
    """The folder name of an SAE inside `<run>/features/`."""
    name = f"{point}-s{snapshot}-w{width}-k{k}"
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"{point!r} cannot name an SAE folder (letters, digits and '_', at most 40)")
    return name


def check_entry(raw: bytes, file: str, d_in: int | None = None) -> dict:
    """An SAE's JSON entry, parsed and checked (fields, sizes against the limits; `d_in` against the point's)."""
    try:
        entry = json.loads(raw.decode())
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RunError(f"{file} is not JSON", reason=f"{file} is not JSON") from None

    def bad(problem: str) -> RunError:
        return RunError(f"{file} {problem}", reason=f"{file} {problem}")

    if not isinstance(entry, dict):
        raise bad("is not a table")
    for key in ("d_in", "width", "k", "snapshot"):
        v = entry.get(key)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise bad(f"lacks a whole number {key!r}")
    if not isinstance(entry.get("point"), str) or not isinstance(entry.get("scale"), int | float):
        raise bad("lacks its point or scale")
    if not math.isfinite(entry["scale"]) or entry["scale"] <= 0:
        raise bad("has a scale that is not a positive number")
    if not 1 <= entry["width"] <= MAX_WIDTH or not 1 <= entry["k"] <= entry["width"] or entry["d_in"] < 1:
        raise bad(f"declares {entry['width']} features with k = {entry['k']}, outside the limits")
    if 2 * entry["width"] * entry["d_in"] > MAX_SAE_PARAMS:
        raise bad(f"declares {2 * entry['width'] * entry['d_in']:,} weights, more than {MAX_SAE_PARAMS:,}")
    if d_in is not None and entry["d_in"] != d_in:
        raise bad(f"is for {entry['d_in']} values where the point has {d_in}")
    return entry


def sae_shapes(entry: dict) -> dict[str, tuple[int, ...]]:
    d, f = entry["d_in"], entry["width"]
    return {"w_dec": (d, f), "w_enc": (f, d), "b_enc": (f,), "b_pre": (d,)}


def check_sae_files(folder: Path, prefix: str, d_in: int | None = None) -> dict:
    """An SAE folder's JSON entry and its tensors' header (names and shapes), before any data is read."""
    raw_path = folder / "sae.json"
    if raw_path.stat().st_size > 2**20:
        raise RunError(f"{prefix}/sae.json is larger than 1 MB", reason=f"{prefix}/sae.json is larger than 1 MB")
    entry = check_entry(raw_path.read_bytes(), f"{prefix}/sae.json", d_in)
    file = f"{prefix}/sae.safetensors"
    held = {name: shape for name, (dtype, shape) in read_header(folder / "sae.safetensors", file).items()}
    if held != sae_shapes(entry):
        raise RunError(
            f"{file} does not fit its entry: it holds {held}",
            reason=f"{file} does not fit its entry ({entry['d_in']} values, {entry['width']} features)",
        )
    return entry


def list_saes(run_folder: Path) -> list[dict]:
    """The SAEs saved in a run folder, newest first: each entry with its folder `name` (damaged ones left out)."""
    root = Path(run_folder) / FEATURES_DIR
    found = []
    if root.is_dir():
        for folder in root.iterdir():
            if not NAME_RE.fullmatch(folder.name) or not (folder / "sae.json").is_file():
                continue
            try:
                entry = check_sae_files(folder, f"{FEATURES_DIR}/{folder.name}")
            except (RunError, OSError):
                continue
            found.append({**entry, "name": folder.name})
    return sorted(found, key=lambda e: e.get("created", ""), reverse=True)
