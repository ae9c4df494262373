"""Streamlit glue shared by the pages: cached loaders, the run and snapshot picker, the training jobs.

Sits between `nnlab` (which never imports streamlit) and `app_pages/*.py`. `streamlit_app.py` calls `sidebar()`;
pages call `require_run()` for the run the user picked and `current_snapshot()` for the training-time slider's
position. One `JobRegistry` per server trains in the background (`job_registry()`), so leaving or reloading a page
never stops a run. Session-state keys here start with `app_` (or the page's prefix). The parts, each importing only
those before it: `state` (keys, caches, the current run) → `datasets`, `furniture`, `samples` → `training` →
`sidebar` → `page` (the analysis pages' preamble and their one cache key); `owner` (who this session is, which
runs it sees) sits under `state`. Pages import `appkit.samples` (the shared sample picker), `appkit.train_form`
and `appkit.owner` as modules of their own.
"""

import pandas  # noqa: F401  (imported whole, once, before any page: two pages importing it at once raced in plotly)

from nnlab.models import describe_model

from . import links
from .choices import unit_choice
from .datasets import KIND_WORDS, OPTION_WIDGETS, SOURCE_WORDS, dataset_picker, download_panel
from .furniture import RUNS_COLUMNS, background_result, how_to_read, runs_table, show_code
from .maps import MapChoice, map_controls
from .page import CACHE_TTL, PageContext, RunStamp, page, run_cached, run_stamp, snapshot_cached
from .sidebar import require_run, require_run_data, sidebar
from .state import (
    CORES,
    LOOK_INSIDE_SECTION,
    MAX_JOBS,
    PAGES_KEY,
    PENDING_KEY,
    QUICK_KEY,
    RUN_KEY,
    SNAP_KEY,
    SNAP_N_KEY,
    TRAIN_JOB_KEY,
    background_tasks,
    current_run,
    current_snapshot,
    job_registry,
    load_data,
    look_inside,
    network_points,
    open_run,
    page_file,
    run_dataset,
    run_ids,
    runs_root,
    set_current_run,
    snapshot_model,
    visible_runs,
)
from .training import did_not_learn, job_spec, progress_text, quick_start_button, start_job, training_panel

__all__ = [
    "MapChoice",
    "map_controls",
    "unit_choice",
    "CACHE_TTL",
    "links",
    "PageContext",
    "RunStamp",
    "page",
    "run_cached",
    "run_stamp",
    "snapshot_cached",
    "CORES",
    "KIND_WORDS",
    "LOOK_INSIDE_SECTION",
    "MAX_JOBS",
    "OPTION_WIDGETS",
    "PAGES_KEY",
    "PENDING_KEY",
    "QUICK_KEY",
    "RUNS_COLUMNS",
    "RUN_KEY",
    "SNAP_KEY",
    "SNAP_N_KEY",
    "SOURCE_WORDS",
    "TRAIN_JOB_KEY",
    "background_result",
    "background_tasks",
    "current_run",
    "current_snapshot",
    "dataset_picker",
    "describe_model",
    "did_not_learn",
    "download_panel",
    "how_to_read",
    "job_registry",
    "job_spec",
    "load_data",
    "look_inside",
    "network_points",
    "open_run",
    "page_file",
    "progress_text",
    "quick_start_button",
    "require_run",
    "require_run_data",
    "run_dataset",
    "run_ids",
    "runs_root",
    "runs_table",
    "set_current_run",
    "show_code",
    "sidebar",
    "snapshot_model",
    "start_job",
    "training_panel",
    "visible_runs",
]
