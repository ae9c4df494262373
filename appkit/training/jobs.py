"""Training jobs in pages: start one, its live panel (progress, curves, Stop), what happened, and the quick start.

Jobs belong to the server's `JobRegistry` (`appkit.caches.job_registry()`), not to a session, so a page only starts and
watches them; leaving, rerunning or reloading the page never stops one.
"""

from __future__ import annotations

import time

import streamlit as st

from appkit.caches import CORES, MAX_JOBS, job_registry, open_run, runs_root
from appkit.frame.navigation import look_inside
from appkit.frame.notes import how_to_read
from appkit.session import owner
from appkit.session.current import set_current_run
from nnlab.data import DataConfig, data_dir
from nnlab.jobs import Job, JobsFull, JobSpec
from nnlab.jobs.queue import wait_words
from nnlab.runs import NotYours
from nnlab.tasks import ACCURACY
from nnlab.threads import worker_threads

OWNER_KEY = owner.IDENTITY_KEY  # this session's requester id (a test sets it to act as someone)
NOT_YOURS = "That training is not one of yours, so this page does not show it."

_QUICK_KEY = "app_quick_job"  # session key: id of this session's quick-start job


def requester() -> str:
    """Who asks for trainings in this session: the student (appkit.session.owner), one running and one waiting each."""
    return owner.identity()


def start_job(spec: JobSpec, label: str) -> Job | None:
    """The job for a training: a finished run of the same settings, the job training them, a new or a waiting one;
    when none can be had (the queue is full, or this session already waits) show why and return None."""
    try:
        return job_registry().start(spec, label, owner=requester())
    except JobsFull as e:
        st.warning(str(e), icon=":material/hourglass_top:")
        return None


def queue_text(job: Job) -> str:
    """ "Waiting: 2nd in the queue, starts in about 30 s" for a waiting job."""
    place = job_registry().place(job)
    if place is None:
        return "Waiting for a free training slot…"
    pos, start = place
    return f"Waiting for a free training slot: number {pos} in the queue, starts in {wait_words(start)}."


def job_spec(
    data: DataConfig, model=None, train=None, record=None, *, name: str | None = None, shared: bool = False
) -> JobSpec:
    """A job spec writing into this app's runs folder and reading this app's data folder; `shared`: a preset's run
    (a lesson's), shared with everyone and nobody's own (the teacher's to rename or delete)."""
    return JobSpec(
        data,
        model,
        train,
        record,
        root=runs_root(),
        name=name,
        data_dir=str(data_dir()),
        torch_threads=worker_threads(MAX_JOBS),
        max_threads=CORES,  # while nothing else runs on the machine (nnlab.threads)
        shared=shared,
    )


def progress_text(job: Job) -> str:
    """ "Epoch 2.4 of 5 · step 60 of 125 · 3 s left" for a running job."""
    if job.queued:
        return queue_text(job)
    v = job.live.view()
    if not v.started:
        return "Starting: loading the data and building the network…"
    total = v.total_steps / max(v.steps_per_epoch, 1)
    eta = f" · {v.eta:.0f} s left" if v.eta is not None else ""
    return f"Epoch {v.epoch:.1f} of {total:.0f} · step {v.step} of {v.total_steps}{eta}"


def training_panel(job_id: str, live: bool) -> None:
    """One job's live panel: progress, metrics, loss and accuracy curves and Stop; then what happened, and what next.

    The Train page runs it as a fragment a few times a second while the job is `live`; it reads only the job's in-memory
    metrics (never the session), so any number of tabs can watch one job.
    """
    from nnlab.figures.training import training_curves

    job = job_registry().get(job_id)
    if job is not None and job not in job_registry().visible(owner.viewer()):
        st.warning(NOT_YOURS, icon=":material/lock:")  # another student's: nothing of it is shown
        return
    if job is None:
        _unknown_job(job_id)
        return
    if live and not job.alive:
        st.rerun()  # it has just ended: redraw the whole page (sidebar, run list) once, without the timer
    v = job.live.view()
    st.markdown(f"**{job.label}**" + (f" → run `{job.run_id}`" if job.run_id else ""))
    if job.queued:
        st.info(queue_text(job), icon=":material/hourglass_top:")
        if st.button("Cancel", key="train_cancel", icon=":material/cancel:", help="Leave the queue."):
            job_registry().cancel(job.id, owner=None if owner.is_teacher() else requester())
            st.rerun()
    elif job.alive:
        st.progress(v.fraction, text=progress_text(job))
        if v.started:
            _metrics(v)
        if job.stop_requested:
            st.caption("Stopping after the current step…")
        elif not job_registry().may_stop(job, owner.viewer()):
            st.caption("Someone else asked for this training first, so it is theirs to stop: you watch it read-only.")
        elif st.button(
            "Stop",
            key="train_stop",
            icon=":material/stop_circle:",
            help="End training now; everything recorded so far is kept.",
        ):
            try:
                job_registry().stop(job.id, owner.viewer())
                st.caption("Stopping after the current step…")
            except NotYours as e:
                st.warning(str(e))
    else:
        _outcome(job, v)
    if len(v.loss):
        fig = training_curves(
            v.loss,
            v.acc,
            v.epochs,
            metric=v.metric,
            steps_per_epoch=v.steps_per_epoch,
            total_epochs=v.total_steps / max(v.steps_per_epoch, 1),
        )
        st.plotly_chart(fig, width="stretch", config={"displayModeBar": False})
        how_to_read(
            f"the faint blue line is the loss (left) and {v.metric.label} (right) of each training batch, the solid "
            "one their moving average; orange points are measured on the test split after each epoch. "
            "Training loss falling while test loss rises means the network memorises instead of learning."
        )


def _metrics(v) -> None:
    c = st.columns(4)
    recent = v.loss[-max(1, v.steps_per_epoch // 4) :]
    c[0].metric("Epoch", f"{v.epoch:.1f} / {v.total_steps / max(v.steps_per_epoch, 1):.0f}")
    c[1].metric("Training loss", f"{float(recent.mean()):.3f}" if len(recent) else "–")
    m, key = v.metric, f"test_{v.metric.key}"
    test = [e[key] for e in v.epochs if e.get(key) is not None]
    value = (f"{test[-1]:.1%}" if m.share else f"{test[-1]:.4f}") if test else "after epoch 1"
    c[2].metric(f"Test {m.short}", value, help=f"The {m.label} on the test split after the last epoch.")
    c[3].metric("Snapshots", f"{v.snapshots} / {v.planned_snapshots}")


def _unknown_job(job_id: str) -> None:
    """A reloaded tab's ?job= that the server no longer knows: what happened to it, and its run if one is on disk."""
    folder = job_registry().find_run(job_id, runs_root())
    run = open_run(folder.name) if folder is not None else None
    if run is not None and not owner.visible([run], job_registry()):
        st.warning(NOT_YOURS, icon=":material/lock:")
        return
    if run is None:
        st.warning(
            "The server was restarted since this training was started, and it left no run behind (it had not "
            "started yet). Start it again on the left.",
            icon=":material/restart_alt:",
        )
        return
    words = run.message if run.status == "interrupted" else f"Its run is {run.status}."
    st.warning(f"**The server was restarted since this training started.** {words}", icon=":material/restart_alt:")
    if len(run) > 0 and st.button("Open its run", key="train_look", type="primary", icon=":material/visibility:"):
        look_inside(run.id)


def _outcome(job: Job, v) -> None:
    run = open_run(job.run_id) if job.run_id else None
    acc = run.final_accuracy if run is not None else None
    acc_text = f"test accuracy **{acc:.1%}**, " if acc is not None else ""
    last = (run.epochs[-1].get(f"test_{v.metric.key}") if run.epochs else None) if run is not None else None
    if v.metric.key != ACCURACY.key and last is not None:  # an autoencoder: its error, and its code's class accuracy
        acc_text = f"test {v.metric.label} **{last:.4f}**" + (f" (class accuracy {acc:.1%}), " if acc else ", ")
    if job.reused:
        st.success(
            f"Trained before with exactly these settings: {acc_text}{v.snapshots} snapshots. This is that run, "
            "shared with everyone who asks for it (read-only).",
            icon=":material/check_circle:",
        )
    elif job.status == "complete":
        st.success(
            f"Finished: {acc_text}{v.snapshots} snapshots recorded in {v.elapsed:.0f} s.",
            icon=":material/check_circle:",
        )
        if run is not None and run.manifest.get("did_not_learn"):  # the trainer's own check, recorded with advice
            st.warning(run.message, icon=":material/trending_down:")
    elif job.status == "stopped":
        st.info(
            f"Stopped at step {v.step} of {v.total_steps} (epoch {v.epoch:.1f}). Everything recorded until "
            f"then is kept: {v.snapshots} snapshots, {acc_text.rstrip(', ') or 'no accuracy yet'}.",
            icon=":material/stop_circle:",
        )
    elif job.status == "interrupted":
        st.warning(job.message, icon=":material/restart_alt:")
    elif job.status == "cancelled":
        st.info(job.message or "Cancelled before it started.", icon=":material/cancel:")
    elif job.status == "diverged":
        st.error(
            f"**Training diverged.** {job.message}\n\nThe weights grew until the loss was no longer a "
            "number, so training stopped. The snapshots before that are kept: look inside them to see the "
            "weights blow up.",
            icon=":material/warning:",
        )
    else:
        st.error(f"**Training failed:** {job.error}", icon=":material/error:")
        with st.expander("Details (the error's traceback)"):
            st.code(job.traceback or "no traceback", language="text")
    if (
        run is not None
        and len(run) > 0
        and st.button("Look inside this run", key="train_look", type="primary", icon=":material/visibility:")
    ):
        look_inside(run.id)


def quick_start_button(key: str) -> None:
    """One click: train a small MLP on two moons in the background, show its progress, make it the current run."""
    registry = job_registry()
    spec = job_spec(DataConfig.make("moons"), name="quickstart-moons")
    if registry.finished_run(spec) is None:
        registry.warm()  # a training is likely: have a worker process ready (not when the run can be reused)
    job = registry.get(st.session_state.get(_QUICK_KEY))
    if job is None or not job.alive:
        if not st.button(
            "Quick start: train on two moons",
            key=key,
            type="primary",
            icon=":material/bolt:",
            help="A 2-128-64-2 network, 5 epochs on 800 points: a few seconds.",
        ):
            return
        job = start_job(spec, "two moons · MLP 128-64")
        if job is None:
            return
        st.session_state[_QUICK_KEY] = job.id
    bar = st.progress(0.0, text="Starting…")
    while job.alive:
        bar.progress(job.live.view().fraction, text=progress_text(job))
        time.sleep(0.1)
    if job.status in ("failed", "cancelled") or not job.run_id:
        st.session_state.pop(_QUICK_KEY, None)
        st.error(f"The quick start failed: {job.error or job.message}")
        return
    bar.progress(1.0, text="Done")
    set_current_run(job.run_id)
    st.session_state.pop(_QUICK_KEY, None)
    st.rerun()


def adopt_finished_quick_start() -> None:
    """A quick start this session began has ended (perhaps while the page was away): its run becomes current."""
    job = job_registry().get(st.session_state.get(_QUICK_KEY))
    if job is not None and not job.alive:
        st.session_state.pop(_QUICK_KEY, None)
        if job.run_id and job.status != "failed":
            set_current_run(job.run_id)
