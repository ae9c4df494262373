"""Background work for an app: training jobs in worker processes, and slow analyses in threads.

Beside stage 3 (train): `JobRegistry.start(JobSpec.make(...), owner=...)` trains a run in a
warmed-up `multiprocessing` worker (or a Ray actor) and feeds a `LiveMetrics` store that a live panel
reads; identical configurations (`config_key`) are trained once, and a fair queue holds what waits;
`BackgroundTasks` runs t-SNE/UMAP-like computations on a thread pool and keeps their results.
Nothing here imports streamlit; the app holds one registry per server.
"""

from .folder import FolderLive
from .keys import RunIndex, config_key
from .live import LiveMetrics, LiveView
from .queue import wait_words
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
    "wait_words",
    "worker_threads",
]
