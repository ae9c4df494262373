"""nnlab.analysis.background: slow analyses on a thread pool, one computation per key, results kept."""

from __future__ import annotations

import threading

from nnlab.analysis.background import BackgroundTasks


def test_background_task_runs_once_per_key_and_keeps_its_result():
    tasks, calls = BackgroundTasks(), []

    def work(x):
        calls.append(x)
        return x * 2

    first = tasks.submit(("k", 1), work, 21)
    assert first.wait(10) and first.status == "done" and first.result == 42
    assert tasks.submit(("k", 1), work, 99) is first and calls == [21]
    assert tasks.get(("k", 2)) is None


def test_background_task_failure_is_kept_until_forgotten():
    tasks = BackgroundTasks()

    def boom():
        raise ValueError("no good")

    task = tasks.submit("k", boom)
    task.wait(10)
    assert task.status == "failed" and task.error == "ValueError: no good" and task.result is None
    assert tasks.submit("k", lambda: 1) is task  # not retried behind the user's back
    tasks.forget("k")
    again = tasks.submit("k", lambda: 1)
    assert again.wait(10) and again.result == 1 and again.error == ""


def test_background_tasks_keep_only_the_newest():
    tasks = BackgroundTasks(keep=2)
    for k in range(3):
        tasks.submit(k, lambda: None).wait(10)
    assert tasks.get(0) is None and tasks.get(2) is not None


def test_a_task_waits_for_a_free_worker_reports_progress_and_times_only_its_run():
    tasks, gate = BackgroundTasks(workers=1), threading.Event()
    first = tasks.submit("first", gate.wait, 10)
    second = tasks.submit("second", lambda progress: progress(0.5, "halfway") or "done", with_progress=True)
    assert not second.wait(0.2) and second.status == "running" and second.share == 0.0  # one worker: it waits
    gate.set()
    assert first.wait(10) and second.wait(10) and second.result == "done"
    assert (second.share, second.stage) == (0.5, "halfway") and second.started >= first.finished  # no wait counted
