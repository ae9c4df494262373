"""Background work for an app: training jobs in worker processes, and slow analyses in threads.

Beside stage 3 (train): `JobRegistry.start(JobSpec.make(...))` trains a run in a
warmed-up worker process and feeds a `LiveMetrics` store that a live panel reads;
`BackgroundTasks` runs t-SNE/UMAP-like computations in threads and keeps their results.
Nothing here imports streamlit; the app holds one registry per server.
"""

from .live import LiveMetrics, LiveView
from .registry import Job, JobRegistry, JobsFull, worker_threads
from .tasks import BackgroundTasks, Task
from .worker import JobSpec

__all__ = [
    "BackgroundTasks",
    "Job",
    "JobRegistry",
    "JobSpec",
    "JobsFull",
    "LiveMetrics",
    "LiveView",
    "Task",
    "worker_threads",
]
