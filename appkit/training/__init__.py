"""Training from the app: the Train page's form (`form`) and training jobs in pages (`jobs`: start one, its live
panel with Stop, what happened, the quick start)."""

from .jobs import job_spec, progress_text, quick_start_button, start_job, training_panel

__all__ = ["job_spec", "progress_text", "quick_start_button", "start_job", "training_panel"]
