"""Run folders: writing them while training, reading them back, managing them."""

from .manage import (
    check_name,
    delete_run,
    export_zip,
    import_zip,
    list_runs,
    new_run_folder,
    rename_run,
    run_path,
    runs_dir,
)
from .run import Run
from .store import FORMAT_VERSION, RunError, RunWriter, read_manifest

__all__ = [
    "FORMAT_VERSION",
    "Run",
    "RunError",
    "RunWriter",
    "check_name",
    "delete_run",
    "export_zip",
    "import_zip",
    "list_runs",
    "new_run_folder",
    "read_manifest",
    "rename_run",
    "run_path",
    "runs_dir",
]
