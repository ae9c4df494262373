"""Background work for an app: trainings and sparse autoencoders in worker processes, slow analyses in threads.

Beside stage 3 (train). `JobRegistry.start(spec, label, owner=...)` runs a `JobSpec` (a training) or a
`FeaturesSpec` (a sparse autoencoder on one point of a run, saved in the run) in a warmed-up worker process (or a
Ray actor), feeding a `LiveMetrics` store that a live panel reads; identical work (`spec.key()`) is done once, a fair
queue holds what waits, and who may see and stop a job follows the run's owners. `BackgroundTasks` runs
t-SNE/UMAP-like computations on a thread pool and keeps their results. Nothing here imports streamlit.

The Features page starts one as (`viewer`: who asks, `nnlab.runs.Viewer`; a student may use runs they may see):

    job = registry.start(FeaturesSpec(str(run.folder), "hidden.0", snapshot=None, width=256, k=8),
                         "features of hidden.0", owner=viewer.id, viewer=viewer)
    job.live.view().fraction, job.live.view().words   # progress, as the trainer says it
    job.stop()                                         # (or registry.stop(job.id, viewer): as for a training)
    job.output                 # once job.status == "complete": the saved autoencoder's folder in the run
"""

from .keys import RunIndex, config_key
from .live import LiveMetrics, LiveView
from .queue import wait_words
from .registry import ANONYMOUS, Job, JobRegistry, JobsFull, QueueFull, worker_threads
from .spec import FeaturesSpec, JobSpec
from .tasks import BackgroundTasks, Task
from .worker import INTERRUPTED, RESTART_MESSAGE

__all__ = [
    "ANONYMOUS",
    "INTERRUPTED",
    "RESTART_MESSAGE",
    "BackgroundTasks",
    "FeaturesSpec",
    "Job",
    "JobRegistry",
    "JobSpec",
    "JobsFull",
    "LiveMetrics",
    "LiveView",
    "QueueFull",
    "RunIndex",
    "Task",
    "config_key",
    "wait_words",
    "worker_threads",
]
