"""What a job does, wherever it runs: `run_job` does a spec's work and tells the app about it in events.

Stage 3 (train) apart from the app; a local worker process (`local.py`) and a Ray actor (`ray_backend.py`) both
call `run_job`. The events: `created` (the run folder), the job's `LiveMetrics` calls (`start`, `add_steps`,
`add_epoch`, `progress`, with their arguments) and one `end` (its status, and for a failure the words, the traceback
and the log). `Control` stops the work after the current step, keeping what was recorded; the reason "restart"
marks the run interrupted by a server restart.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ..failures import failure_report
from ..live import LiveReporter
from .spec import FeaturesSpec, JobSpec

PROGRESS_S = 0.1  # the most time a features job's progress waits before it is sent
INTERRUPTED = "interrupted"  # the status of a run whose worker was stopped by a server restart
RESTART_MESSAGE = (
    "Interrupted by a server restart: the training stopped cleanly when the server went down, and every "
    "snapshot recorded until then is kept. Start it again on the Train page to train it to the end."
)


class Control:
    """A job's stop request, from whichever side asks (a message, a signal, the Ray actor's `stop`)."""

    def __init__(self):
        self.stopped, self.reason, self._trainer = threading.Event(), "", None  # reason "restart": interrupted

    def request(self, reason: str = "") -> None:
        """Stop after the current step; `reason` "restart" marks the run interrupted by a server restart."""
        self.reason = self.reason if self.stopped.is_set() else reason  # the first reason counts
        self.stopped.set()
        self.attach(self._trainer)

    def attach(self, trainer) -> None:
        """The trainer to stop (a stop asked for before it existed reaches it now)."""
        self._trainer = trainer
        if trainer is not None and self.stopped.is_set():
            restart = self.reason == "restart"
            trainer.stop(INTERRUPTED if restart else "stopped", RESTART_MESSAGE if restart else "")


def warm_up(threads: int = 1) -> None:
    """Import what training needs and take one optimizer step, so the first real step is not slow."""
    import torch

    torch.set_num_threads(threads)
    import nnlab.pipeline  # noqa: F401  (the registry, models, recorder)

    w = torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w])
    (w.sum() ** 2).backward()
    opt.step()  # the first step imports torch's compile machinery lazily: pay for it now


def run_job(spec: JobSpec | FeaturesSpec, send, control: Control, *, job_id: str = "", key: str = "") -> str:
    """Do `spec`'s work, sending events through `send(dict)`; stop when `control` says so; return the final status.

    A training's `job_id` and `key` go into its run's manifest, so that the run can be found by either.
    """
    if getattr(spec, "data_dir", None) is not None:
        os.environ["NNLAB_DATA_DIR"] = spec.data_dir
    trainer = None
    try:
        for module in spec.imports:
            __import__(module)
        if isinstance(spec, FeaturesSpec):
            return _features(spec, send, control)
        from ..pipeline import make_trainer
        from ..record import Recorder
        from ..threads import ThreadGovernor

        found_by = {"job_id": job_id, "config_key": key, "owner": spec.owner, "shared": spec.shared}
        manifest = {k: v for k, v in found_by.items() if v}  # who finds the run, who sees it
        configs = (spec.data, spec.model, spec.train, spec.record)
        trainer, folder = make_trainer(*configs, root=spec.root, name=spec.name, manifest=manifest)
        recorder = next((cb for cb in trainer.callbacks if isinstance(cb, Recorder)), None)
        governor = ThreadGovernor(spec.torch_threads, max(spec.max_threads, spec.torch_threads))
        trainer.callbacks += [LiveReporter(send, recorder), governor]
        send({"event": "created", "folder": str(folder)})
        control.attach(trainer)
        trainer.fit()
        send({"event": "end", "status": trainer.status, "message": trainer.message, "thread_seconds": governor.seconds})
        return trainer.status
    except Exception as e:
        send({"event": "end", "status": "failed", **failure_report(e, trainer, spec.root)})
        return "failed"


def _features(spec: FeaturesSpec, send, control: Control) -> str:
    """Train a sparse autoencoder in its run (`nnlab.analysis.sae`, imported here: only a features job needs it)."""
    from ..analysis import sae

    last = [0.0]

    def progress(share: float, words: str) -> None:
        if time.monotonic() - last[0] > PROGRESS_S or share >= 1.0:
            send({"event": "progress", "share": float(share), "words": str(words)})
            last[0] = time.monotonic()

    send({"event": "progress", "share": 0.0, "words": "Reading the run's activations…"})
    path = sae.train_spec(Path(spec.folder), spec.sae, progress=progress, should_stop=control.stopped.is_set)
    stopped = path is None or control.stopped.is_set()  # stopped: nothing is saved
    status = (INTERRUPTED if control.reason == "restart" else "stopped") if stopped else "complete"
    send({"event": "end", "status": status, "message": "", "output": "" if stopped else str(path)})
    return status
