"""The run manifest's schema: what `manifest.json` may hold, checked before a run is listed, opened or imported.

Part of stage 4 (run folders). `parse_manifest(raw)` turns the manifest's bytes into a checked dict, or raises
`ManifestError` with the reason in words (never a server path). Its size and nesting depth are checked before
JSON parsing, so no file can exhaust memory or recursion. The model and data configs stay plain dicts with a few
basic checks, because model kinds are plug-ins that read their own configs. Unknown fields are allowed and ignored,
so runs written by older and newer nnlab versions still open.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FORMAT_VERSION = 1
MAX_MANIFEST_BYTES = 4 * 2**20  # a run of 5,000 snapshots and 10,000 epochs writes about 2 MB
MAX_DEPTH = 24  # nesting of lists and objects (nnlab writes 4)
MAX_STRING = 20_000  # characters of any one string (a custom model's repr is cut at 4,000)
MAX_ITEMS = 100_000  # entries of any one list or object
MAX_SNAPSHOTS = 5_000  # the Train page records at most 200; the file names have room for 10,000
MAX_EPOCHS = 20_000
MAX_CLASSES = 10_000
SNAPSHOT_FILE_RE = re.compile(r"snapshots/\d{4,6}\.safetensors")
CREATED_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")  # what RunWriter writes: sortable as text
STATUS_RE = re.compile(r"[a-z][a-z _-]{0,31}")


class ManifestError(ValueError):
    """A manifest that breaks the schema; the message starts with "manifest.json" and says why in words."""


def _fraction(v: float) -> float:
    if not (math.isnan(v) or 0.0 <= v <= 1.0):  # NaN: measured on an empty set, shown as "-"
        raise ValueError("an accuracy is a fraction between 0 and 1")
    return v


Fraction = Annotated[float, AfterValidator(_fraction)]
Count = Annotated[int, Field(ge=0)]
Finite = Annotated[float, Field(allow_inf_nan=False)]
Text = Annotated[str, Field(max_length=200)]


class _Record(BaseModel):
    # strict: a string is not a number and true is not 1; extra fields are kept in the dict and not checked
    model_config = ConfigDict(strict=True, extra="allow")


class SnapshotInfo(_Record):
    """One entry of `snapshots`: where its file is and when in training it was taken."""

    index: Count
    file: str  # relative to the run folder: snapshots/0000.safetensors
    step: Count
    epoch: Annotated[Finite, Field(ge=0)]
    eval_acc: Fraction | None = None  # accuracy on the evaluation subset
    loss: float | None = None  # the last training loss before it (None for the initial state)
    time: float | None = None

    @field_validator("file", mode="before")
    @classmethod
    def _inside_the_run(cls, v: Any) -> str:
        if not isinstance(v, str) or not SNAPSHOT_FILE_RE.fullmatch(v):
            shown = repr(v)[:60] if isinstance(v, str) else f"a {type(v).__name__}"
            raise ValueError(f"names {shown} as a snapshot file, which is outside the run or not a snapshot file")
        return v


class EpochInfo(_Record):
    """One entry of `epochs`: the metrics after an epoch (a loop of your own may add more)."""

    epoch: Annotated[Finite, Field(ge=0)]
    step: Count | None = None
    train_loss: float | None = None
    test_loss: float | None = None
    train_acc: Fraction | None = None
    test_acc: Fraction | None = None
    time: float | None = None


class DataInfo(_Record):
    """`data`: the dataset config (DataConfig.to_dict); datasets are plug-ins, so only its frame is checked."""

    name: Annotated[str, Field(min_length=1, max_length=100)]
    options: dict[str, Any] = {}
    train_subset: Annotated[int, Field(ge=1)] | None = None
    subset_seed: int = 0

    @field_validator("options")
    @classmethod
    def _not_the_frame(cls, v: dict[str, Any]) -> dict[str, Any]:
        if clash := {"name", "train_subset", "subset_seed"} & v.keys():  # DataConfig.make takes these by name
            raise ValueError(f"a dataset option may not be called {sorted(clash)[0]!r}")
        return v


class ModelInfo(_Record):
    """`model`: the model config; each kind reads its own (a run of your own model is {"kind": "custom", ...})."""

    kind: Annotated[str, Field(min_length=1, max_length=64)]
    hidden: list[int] | None = None  # widths, when the kind has them (the runs table lists them)
    channels: list[int] | None = None


class Stats(_Record):
    mean: list[float]  # flattened: an image set's statistics are saved per channel, as (C, 1, 1) nested lists
    std: list[float]
    shape: list[Annotated[int, Field(ge=1)]]

    @field_validator("mean", "std", mode="before")
    @classmethod
    def _flatten(cls, v: Any) -> Any:
        if not isinstance(v, list):
            return v
        try:
            return np.asarray(v, dtype=np.float64).reshape(-1).tolist()
        except (ValueError, TypeError):
            raise ValueError("must be numbers, nested as the shape says") from None

    @model_validator(mode="after")
    def _sizes_agree(self) -> Stats:
        if not len(self.mean) == len(self.std) == math.prod(self.shape):
            raise ValueError("the normalisation statistics do not match their shape")
        return self


class DatasetInfo(_Record):
    """`dataset`: what the dataset was when the run was trained."""

    name: Text | None = None
    class_names: Annotated[list[Text], Field(max_length=MAX_CLASSES)] = []
    input_shape: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=8)] = []
    n_train: Count | None = None
    n_test: Count | None = None
    is_image: bool | None = None
    stats: Stats | None = None


class WriterInfo(_Record):
    pid: int | None = None
    host: Text | None = None


class Progress(_Record):
    total_steps: Count | None = None
    steps_per_epoch: Count | None = None
    planned_snapshots: Count | None = None


class Manifest(_Record):
    """The whole manifest as RunWriter writes it (store.py); `did_not_learn` is set by the training checks."""

    format_version: int
    name: Text | None = None
    created: str | None = None  # local time, 2024-05-01T12:00:00
    status: str
    message: Annotated[str, Field(max_length=10_000)] = ""
    writer: WriterInfo = WriterInfo()
    data: DataInfo
    dataset: DatasetInfo = DatasetInfo()
    model: ModelInfo
    train: dict[str, Any]
    record: dict[str, Any] = {}
    progress: Progress = Progress()
    epochs: Annotated[list[EpochInfo], Field(max_length=MAX_EPOCHS)] = []
    snapshots: Annotated[list[SnapshotInfo], Field(max_length=MAX_SNAPSHOTS)]
    started: float | None = None
    finished: float | None = None
    did_not_learn: bool | None = None
    # Optional, written by the app's training jobs (nnlab.jobs): the key of the whole training configuration
    # (nnlab.jobs.spec.JobSpec.key: data, model, training with its seed, recording), so that an identical request
    # opens this run instead of training again, and the id of the job that trained it (for a reloaded ?job= link).
    config_key: Annotated[str, Field(pattern=r"^[0-9a-f]{1,64}$")] | None = None
    job_id: Annotated[str, Field(max_length=64)] | None = None
    # Optional, who may see the run (nnlab.runs.owners): its owner's anonymous id (never a name), shared with
    # everyone (by the teacher, or a lesson preset), and the ids it is shared with read-only (a reused training).
    # A run without an owner (written before these fields, or by the command line) is shared with everyone.
    owner: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = None
    shared: bool | None = None
    shared_with: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=10_000)] | None = None

    @field_validator("created")
    @classmethod
    def _a_date(cls, v: str | None) -> str | None:
        if v is not None and not CREATED_RE.fullmatch(v):
            raise ValueError("the creation time is not a date and time like 2024-05-01T12:00:00")
        return v

    @field_validator("status")
    @classmethod
    def _a_word(cls, v: str) -> str:
        if not STATUS_RE.fullmatch(v):
            raise ValueError("the status is not a short lowercase word such as 'complete'")
        return v


# --- parsing -------------------------------------------------------------------------------------------------------
_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)  # JSON strings, so brackets inside them do not count
_BRACKETS = re.compile(r"[^\[\]{}]+")


def nesting_depth(text: str) -> int:
    """How deeply the lists and objects of JSON `text` nest, counted without parsing it (no recursion)."""
    brackets = np.frombuffer(_BRACKETS.sub("", _STRING_RE.sub("", text)).encode(), np.uint8)  # (B,)
    if brackets.size == 0:
        return 0
    return int(np.cumsum(np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)).max())


def _where(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the top level"


def _check_values(value: Any, path: tuple = ()) -> None:
    """Every string short and encodable, every list and object of bounded size (depth was bounded before)."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ManifestError(
                f"manifest.json has a text of {len(value):,} characters at {_where(path)} (the limit is {MAX_STRING:,})"
            )
        try:
            value.encode()
        except UnicodeEncodeError:
            raise ManifestError(f"manifest.json has a text that is not valid Unicode at {_where(path)}") from None
    elif isinstance(value, (list, dict)):
        if len(value) > MAX_ITEMS:
            raise ManifestError(
                f"manifest.json has {len(value):,} entries at {_where(path)} (the limit is {MAX_ITEMS:,})"
            )
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                _check_values(key, path)
                key = key[:40]
            _check_values(item, (*path, key))


def _reason(error: ValidationError) -> str:
    """The first problem of a validation error as a sentence about manifest.json."""
    errors = error.errors(include_url=False, include_input=False)
    first = errors[0]
    where = _where(first["loc"])
    if first["type"] == "missing":
        text = f"manifest.json has no {where!r} entry"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        text = f"manifest.json has a bad {where!r}: {msg[:1].lower()}{msg[1:]}"
    more = len(errors) - 1
    return text + (f" (and {more} more problem{'s' * (more != 1)})" if more else "")


def parse_manifest(raw: bytes) -> dict:
    """The checked manifest from the bytes of `manifest.json`, or `ManifestError` saying what is wrong with it.

    The dict is the file's own content (unknown fields included), with `epochs` defaulting to [].
    """
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(
            f"manifest.json is {len(raw) / 2**20:.1f} MB; a manifest is at most {MAX_MANIFEST_BYTES // 2**20} MB"
        )
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise ManifestError("manifest.json is not valid JSON: it is not UTF-8 text") from None
    depth = nesting_depth(text)
    if depth > MAX_DEPTH:
        raise ManifestError(f"manifest.json nests {depth} levels deep; a manifest nests at most {MAX_DEPTH}")
    try:
        manifest = json.loads(text)
    except RecursionError:  # not reachable after the depth check; kept so that no input can raise it
        raise ManifestError("manifest.json nests too deeply") from None
    except ValueError as e:  # JSONDecodeError, and integers too long to convert
        detail = e.msg if isinstance(e, json.JSONDecodeError) else str(e)
        where = f" (line {e.lineno}, column {e.colno})" if isinstance(e, json.JSONDecodeError) else ""
        raise ManifestError(f"manifest.json is not valid JSON: {detail[:120]}{where}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"manifest.json is not a JSON object but a {type(manifest).__name__}")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        shown = repr(version)[:20]
        raise ManifestError(f"manifest.json has format version {shown}; this nnlab reads version {FORMAT_VERSION}")
    _check_values(manifest)
    try:
        Manifest.model_validate(manifest)
    except ValidationError as e:
        raise ManifestError(_reason(e)) from None
    except RecursionError:
        raise ManifestError("manifest.json nests too deeply") from None
    manifest.setdefault("epochs", [])
    return manifest
