"""Lessons: short guided paths through the app, one TOML file each (stage 6, beside the app's pages).

`load_lessons()` reads the built-in `lessons/` folder and `$NNLAB_LESSONS_DIR`; a lesson's steps name a page,
a preset run, a question to answer first, a check of what the student did (`checks.CHECKS`) and an answer
template filled from facts of the student's run (`facts.FACTS`, `template.render`). Streamlit-free: the app's
side is appkit/frame/lesson.py.
"""

from .checks import CHECKS, View, passed
from .facts import FACTS, At, fact
from .load import MAX_BYTES, lesson_dirs, load_lesson, load_lessons
from .schema import PAGES, Lesson, LessonError, Preset, Question, Step
from .template import TemplateError, fields, render

__all__ = [
    "CHECKS",
    "FACTS",
    "MAX_BYTES",
    "PAGES",
    "At",
    "Lesson",
    "LessonError",
    "Preset",
    "Question",
    "Step",
    "TemplateError",
    "View",
    "fact",
    "fields",
    "lesson_dirs",
    "load_lesson",
    "load_lessons",
    "passed",
    "render",
]
