"""Training that fails says why: an exception in words for the user, its traceback in a log file.

Beside stage 3 (train). The trainer, the worker processes and the command line turn whatever
ended a run (a full disk, an overflow, running out of memory, any other error) into one or two
sentences with what to try, and append the traceback to `error.log` in the run folder, or to
`errors.log` in the runs folder when the run folder does not exist yet (`failure_report`: all three for a job).
"""

from __future__ import annotations

import errno
import time
import traceback
from pathlib import Path

ERROR_LOG = "error.log"  # in a run folder: the tracebacks of what ended its training
RUNS_ERROR_LOG = "errors.log"  # in the runs folder: failures before a run folder existed


def error_log_path(folder: Path | str | None, root: Path | str) -> Path:
    """The log for a failure: the run folder's `error.log` if the folder exists, else the runs folder's log."""
    if folder is not None and Path(folder).is_dir():
        return Path(folder) / ERROR_LOG
    return Path(root) / RUNS_ERROR_LOG


def explain_failure(error: BaseException, step: int, lr: float | None = None) -> str:
    """What ended training at `step`, in words for a user, with what to try (no traceback, no server path)."""
    detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    what = f"{type(error).__name__}: {detail}"[:300]
    low = detail.lower()
    if isinstance(error, KeyboardInterrupt):
        return f"Training was interrupted at step {step}; the snapshots recorded before it are kept."
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"The disk is full: the run could not be written at step {step} ({what}). The snapshots before "
            "it are kept; free some space (delete old runs, or record fewer snapshots) and train again."
        )
    if isinstance(error, OSError):
        return (
            f"Writing the run failed at step {step} ({what}). The snapshots before it are kept; check that "
            "the runs folder is writable and has space."
        )
    if isinstance(error, OverflowError | FloatingPointError) or "overflow" in low:
        rate = f"the learning rate {lr:g}" if lr is not None else "the learning rate"
        return (
            f"A number overflowed at step {step} ({what}): {rate} probably makes the weights too large. "
            "Try a value 10× smaller; the snapshots before it are kept."
        )
    if isinstance(error, MemoryError) or "out of memory" in low:
        return f"Out of memory at step {step} ({what}): try a smaller batch size or a smaller network."
    return f"Training ended at step {step} by {what}."


def write_error_log(path: Path | str, error: BaseException, context: str = "") -> Path | None:
    """Append a dated header and the traceback of `error` to `path`; the path, or None if it cannot be written."""
    path = Path(path)
    text = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {context}\n" + "".join(traceback.format_exception(error))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)
    except OSError:
        return None  # a full disk: the message in words is all there is
    return path


def failure_report(error: Exception, trainer, root: Path | str) -> dict:
    """What a background job that raised `error` tells the app: the reason in words (`error`), the `traceback`, and
    the `log` it was appended to ("" if none could be written).

    A trainer that ran has already marked its run failed (with the same words) and logged the traceback in the run
    folder; an error before training started (no run folder is left then) is logged in the runs folder's
    `errors.log`.
    """
    if trainer is not None and trainer.status == "failed":
        message = trainer.message
        log = trainer.error_log if trainer.error_log is not None and trainer.error_log.is_file() else None
    else:
        if isinstance(error, ValueError | KeyError):  # they say what is wrong in words already
            message = str(error.args[0]) if error.args else type(error).__name__
        else:
            message = explain_failure(error, 0).replace("Training ended at step 0 by", "Training could not start:")
        log = write_error_log(error_log_path(None, root), error, "a background job failed before it started")
        if log is not None:
            message += f" The traceback is in {log.name} in the runs folder."
    return {"error": message, "traceback": "".join(traceback.format_exception(error)), "log": str(log or "")}
