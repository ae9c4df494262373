"""Background work for an app: training jobs in worker processes, and slow analyses in threads.

Beside stage 3 (train): `JobRegistry.start(JobSpec.make(...), owner=...)` trains a run in a
warmed-up worker process (or a Ray task) and feeds a `LiveMetrics` store that a live panel reads;
identical configurations (`config_key`) are trained once, and a fair queue holds what waits;
`BackgroundTasks` runs t-SNE/UMAP-like computations in threads and keeps their results.
Nothing here imports streamlit; the app holds one registry per server.
"""

from .folder import FolderLive
from .keys import RunIndex, config_key
from .live import LiveMetrics, LiveView
from .registry import ANONYMOUS, Job, JobRegistry, JobsFull, QueueFull, worker_threads
from .tasks import BackgroundTasks, Task
from .worker import INTERRUPTED, RESTART_MESSAGE, JobSpec

__all__ = [
    "ANONYMOUS",
    "INTERRUPTED",
    "RESTART_MESSAGE",
    "BackgroundTasks",
    "FolderLive",
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
    "worker_threads",
]
