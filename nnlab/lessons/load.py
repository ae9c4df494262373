"""Reading lesson files: a size limit, TOML (tomllib), line numbers for messages, and the folders to look in.

Stage 6 (lessons). `load_lesson(path)` returns a `Lesson` or raises `LessonError`; `load_lessons()` reads every
`*.toml` of the built-in folder and `$NNLAB_LESSONS_DIR` and returns each as a `Lesson` or its `LessonError`, so
one broken file never hides the others. tomllib gives no line numbers for values: `Lines` finds the line of a
`[[steps]]` table, a `[table]` or a key by scanning the text (comments and strings are not parsed, which is
enough to point at the right place).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import tomllib

from .schema import Lesson, LessonError, build

MAX_BYTES = 64 * 1024  # a lesson is a page of text: anything larger is refused before parsing
BUILT_IN = Path(__file__).resolve().parents[2] / "lessons"  # the repository's lessons/
HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


class Lines:
    """Line numbers (from 1) of the tables and keys of one TOML text."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.headers = []  # (line number, table name, is an array entry)
        for n, line in enumerate(self.lines, 1):
            m = HEADER.match(line)
            if m:
                self.headers.append((n, m[1].replace('"', "").replace("'", ""), line.lstrip().startswith("[[")))

    def _span(self, step: int | None, table: str | None) -> tuple[int, int] | None:
        """The lines (first, last) of step `step` (its [[steps]] and sub-tables) or table `table`; None: not found."""
        starts = [n for n, name, array in self.headers if array and name == "steps"]
        end = len(self.lines)
        if step is not None:
            if step >= len(starts):
                return None
            first = starts[step]
            later = [
                n for n, name, array in self.headers if n > first and (name == "steps" or not name.startswith("steps."))
            ]
            last = (later[0] - 1) if later else end
            if table is not None:  # a sub-table of the step: [steps.question]
                inner = [n for n, name, _ in self.headers if first < n <= last and name == f"steps.{table}"]
                if inner:
                    nxt = [n for n, _, _ in self.headers if n > inner[0]]
                    return inner[0], (nxt[0] - 1) if nxt else end
            return first, last
        if table is not None:
            found = [n for n, name, _ in self.headers if name == table]
            if not found:
                return None
            nxt = [n for n, _, _ in self.headers if n > found[0]]
            return found[0], (nxt[0] - 1) if nxt else end
        return 1, (self.headers[0][0] - 1) if self.headers else end  # the top-level keys

    def where(self, *, step: int | None = None, table: str | None = None, key: str | None = None) -> int | None:
        """The line of `key` inside that step or table (else the table's own line); None if nothing matches."""
        span = self._span(step, table)
        if span is None:
            return None
        first, last = span
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for n in range(first, last + 1):
                if pattern.match(self.lines[n - 1]):
                    return n
        return first if (step is not None or table is not None) else None


def shown_path(path: Path) -> str:
    """The path as a message names it: relative to the working folder when it is inside it."""
    try:
        return Path(os.path.relpath(path)).as_posix() if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive
        return str(path)


def load_lesson(path: Path | str) -> Lesson:
    """One lesson file; `LessonError` (file, line, field) when it is too large, not TOML, or not a lesson."""
    path = Path(path)
    shown = shown_path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise LessonError(shown, None, f"cannot be read: {e.strerror or e}") from None
    if len(raw) > MAX_BYTES:
        raise LessonError(shown, None, f"is larger than {MAX_BYTES // 1024} KiB, the limit for a lesson file")
    try:
        text = raw.decode("utf-8")
        table = tomllib.loads(text)
    except UnicodeDecodeError:
        raise LessonError(shown, None, "is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        words = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e)) or "invalid syntax"
        raise LessonError(shown, int(m[1]) if m else None, f"is not valid TOML: {words}") from None
    return build(path.stem, table, shown, Lines(text).where)


def lesson_dirs() -> list[Path]:
    """The folders lessons are read from: the built-in one, then `$NNLAB_LESSONS_DIR` (default `lessons/`)."""
    found = []
    for d in (BUILT_IN, Path(os.environ.get("NNLAB_LESSONS_DIR", "lessons"))):
        if d.is_dir() and all(d.resolve() != f.resolve() for f in found):
            found.append(d)
    return found


def load_lessons(dirs: list[Path] | None = None) -> list[Lesson | LessonError]:
    """Every `*.toml` of `dirs` (default `lesson_dirs()`), by file name; a broken file is its `LessonError`.

    A later folder's file of the same name as an earlier one's is shown too, as its own lesson only if its name
    is new (a teacher's copy cannot hide a built-in lesson)."""
    out, names = [], set()
    for d in dirs if dirs is not None else lesson_dirs():
        for path in sorted(Path(d).glob("*.toml")):
            if path.stem in names:
                continue
            names.add(path.stem)
            try:
                out.append(load_lesson(path))
            except LessonError as e:
                out.append(e)
    return out
