"""Streamlit glue between `nnlab` (which never imports streamlit) and the page scripts in `app_pages/`.

Grouped by what it serves; a page's own glue is found by the page's name:

- `caches`: the server's shared runs, datasets, snapshot networks, job registry and thread pool; `run_cached` and
  `snapshot_cached` key a page's computations on a run.
- `session/`: this session and its current run: `current` (the one door that makes a run current, the run picker
  and training-time slider, and the session keys they own), `owner` (who is at this browser, which runs they see),
  `links` (the view in the address).
- `frame/`: what surrounds every page: `navigation` (the page list, once), `sidebar`, `gate` (`page()`, the
  analysis pages' preamble), `lesson` (the running lesson's bar), `notes` ("how to read this", the code behind),
  `waiting` (slow analyses in the background).
- `pickers/`: choices shared by pages: `samples`, `datasets`, `own_input` (with `own_image`, `own_point`,
  `own_kept`), `maps` (PCA/t-SNE/UMAP controls), `units`, `runs_table`.
- `training/`: the Train form (`form`) and training jobs in pages (`jobs`: start one, its live panel, quick start).
- `panels/<page>.py`: what only that page uses (attribution, backprop, boundary, class_averages, latent, photo,
  runs, walkthrough, weights).

Each layer imports only the ones before it: caches → session → training → frame → pickers → panels. This facade
holds the handful of calls most pages make; everything else is imported from its module by name.
"""

import pandas  # noqa: F401  (imported whole, once, before any page: two pages importing it at once raced in plotly)

from .caches import (
    background_tasks,
    job_registry,
    load_data,
    network_points,
    open_run,
    run_cached,
    run_dataset,
    run_stamp,
    snapshot_cached,
    snapshot_model,
)
from .frame.gate import PageContext, page
from .frame.notes import how_to_read, show_code
from .frame.sidebar import sidebar
from .frame.waiting import background_result
from .session import links
from .session.current import current_run, set_current_run, visible_runs

__all__ = [
    "PageContext",
    "background_result",
    "background_tasks",
    "current_run",
    "how_to_read",
    "job_registry",
    "links",
    "load_data",
    "network_points",
    "open_run",
    "page",
    "run_cached",
    "run_dataset",
    "run_stamp",
    "set_current_run",
    "show_code",
    "sidebar",
    "snapshot_cached",
    "snapshot_model",
    "visible_runs",
]
