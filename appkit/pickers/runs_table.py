"""Runs as a table (Home, Runs, Compare): one row per run with its dataset, network, accuracy, status and date."""

from __future__ import annotations

import streamlit as st

from nnlab.models import describe_model
from nnlab.runs import Run


def _dataset_label(run: Run) -> str:
    try:
        return run.data_config.label()
    except (KeyError, TypeError, AttributeError):
        return str(run.manifest.get("dataset", {}).get("name", "?"))


def runs_table(runs: list[Run]):
    """One row per run: name, dataset, network, test accuracy in %, status, snapshots, date (a pandas DataFrame)."""
    import pandas as pd

    rows = [
        {
            "run": r.id,
            "dataset": _dataset_label(r),
            "network": describe_model(r.manifest["model"]),
            "accuracy": None if r.final_accuracy is None else 100 * r.final_accuracy,
            "status": r.status,
            "snapshots": len(r),
            "created": pd.to_datetime(r.manifest.get("created"), errors="coerce"),
        }
        for r in runs
    ]
    return pd.DataFrame(rows, columns=["run", "dataset", "network", "accuracy", "status", "snapshots", "created"])


RUNS_COLUMNS = {
    "accuracy": st.column_config.ProgressColumn("test accuracy", format="%.1f%%", min_value=0.0, max_value=100.0),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
}
