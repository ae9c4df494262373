"""Run folders: writing them while training, reading them back, checking their manifests, managing them."""

from .manage import (
    DamagedRun,
    check_name,
    delete_run,
    export_zip,
    import_zip,
    list_damaged,
    list_runs,
    new_run_folder,
    rename_run,
    run_path,
    runs_dir,
    scan_runs,
)
from .owners import NotYours, Viewer
from .run import Run
from .schema import ManifestError, parse_manifest
from .store import FORMAT_VERSION, RunError, RunWriter, UnknownName, read_manifest

__all__ = [
    "FORMAT_VERSION",
    "DamagedRun",
    "ManifestError",
    "NotYours",
    "Run",
    "RunError",
    "RunWriter",
    "UnknownName",
    "Viewer",
    "check_name",
    "delete_run",
    "export_zip",
    "import_zip",
    "list_damaged",
    "list_runs",
    "new_run_folder",
    "parse_manifest",
    "read_manifest",
    "rename_run",
    "run_path",
    "runs_dir",
    "scan_runs",
]
