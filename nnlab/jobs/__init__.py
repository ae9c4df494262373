"""Background work for an app: trainings and sparse autoencoders in worker processes or Ray actors, a fair queue.

Beside stage 3 (train). `JobRegistry.start(spec, label, owner=...)` runs a `JobSpec` (a training) or a
`FeaturesSpec` (a sparse autoencoder on one point of a run, saved in the run) in a warmed-up worker process (or a
Ray actor), feeding the job's `nnlab.live.LiveMetrics` that a live panel reads; identical work (`spec.key()`) is
done once, a fair queue holds what waits, and who may see and stop a job follows the run's owners. Nothing here
imports streamlit. The Features page starts one as (`viewer`: who asks, a `nnlab.runs.Viewer`):

    spec = FeaturesSpec(str(run.folder), SaeSpec("relu1", snapshot=None, width=256, k=8))  # .check'ed first
    job = registry.start(spec, "features of relu1", owner=viewer.id, viewer=viewer)  # NotYours, JobsFull
    job.live.view().fraction, job.live.view().words  # its progress, in train_in_run's own words
    registry.stop(job.id, viewer)  # as for a training: the one who asked first, or the teacher
    job.output  # once job.status == "complete": the saved autoencoder's folder inside the run
"""

from .queue import wait_words
from .registry import ANONYMOUS, Job, JobRegistry, JobsFull, QueueFull
from .spec import FeaturesSpec, JobSpec
from .worker import INTERRUPTED, RESTART_MESSAGE

__all__ = ["ANONYMOUS", "INTERRUPTED", "RESTART_MESSAGE", "FeaturesSpec", "Job", "JobRegistry", "JobSpec", "JobsFull"]
__all__ += ["QueueFull", "wait_words"]
