"""Who owns a run, who may see it and who may change it: the rules behind a class sharing one server.

Part of stage 4 (run folders). A run's manifest may name its `owner` (an anonymous id, never a name), be `shared`
with everyone (by the teacher, or a lesson's preset run), and list the ids it is `shared_with` read-only (a student
whose request for the same configuration reused it). A run without an owner (written before owners existed, by the
command line or a notebook) is shared with everyone. The app asks these functions; the library calls that change a
run (`rename_run`, `delete_run`, `set_shared`) refuse a `Viewer` who may not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .store import RunError, read_manifest, write_manifest

YOURS, SHARED, SHARED_WITH_YOU, A_STUDENTS = "yours", "shared", "shared with you", "a student's"


@dataclass(frozen=True)
class Viewer:
    """Who looks: a stable anonymous id; a teacher sees and may change everything.

    `keeper`: may rename and delete runs without an owner (a server with no teacher: the person at the keyboard).
    """

    id: str
    teacher: bool = False
    keeper: bool = False


class NotYours(RunError):
    """A change to a run that this viewer does not own (or a run this viewer may not see)."""


def owner_of(manifest: dict) -> str | None:
    return manifest.get("owner") or None


def is_shared(manifest: dict) -> bool:
    """Shared with everyone: by the teacher or a lesson preset, or a run that has no owner."""
    return bool(manifest.get("shared")) or owner_of(manifest) is None


def relation(manifest: dict, viewer: Viewer) -> str | None:
    """How the viewer sees the run: "yours", "shared", "shared with you", "a student's" (teacher), or None (hidden)."""
    owner = owner_of(manifest)
    if owner is not None and owner == viewer.id:
        return YOURS
    if is_shared(manifest):
        return SHARED
    if viewer.id in (manifest.get("shared_with") or ()):
        return SHARED_WITH_YOU
    return A_STUDENTS if viewer.teacher else None


def can_see(manifest: dict, viewer: Viewer) -> bool:
    return relation(manifest, viewer) is not None


def may_change(manifest: dict, viewer: Viewer) -> bool:
    """Rename, delete or stop: the owner, the teacher, or (a run without owner) a keeper."""
    owner = owner_of(manifest)
    return viewer.teacher or (owner is not None and owner == viewer.id) or (owner is None and viewer.keeper)


def check_may_change(manifest: dict, viewer: Viewer | None, run_id: str, what: str) -> None:
    """Raise `NotYours` unless `viewer` (None: no check, as from the command line) may change the run."""
    if viewer is None or may_change(manifest, viewer):
        return
    if not can_see(manifest, viewer):
        raise NotYours(f"No run named {run_id!r}")  # a run the viewer may not see is not there for them
    raise NotYours(f"Run {run_id!r} is not yours: it is shared with you read-only, so it cannot be {what}")


def check_may_see(folder: Path | str, viewer: Viewer, why: str) -> None:
    """Raise `NotYours(why)` unless `viewer` may see the run in `folder` (one that cannot be read: nobody)."""
    try:
        visible = can_see(read_manifest(Path(folder)), viewer)
    except (RunError, OSError):
        visible = False
    if not visible:
        raise NotYours(why)


def share_with(folder: Path | str, ids) -> bool:
    """Let `ids` see the run read-only (a reused or joined training); True if the manifest changed (False also for
    a run that cannot be read: deleted meanwhile, it has nobody to share with)."""
    folder = Path(folder)
    try:
        manifest = read_manifest(folder)
    except (RunError, OSError):
        return False
    have = list(manifest.get("shared_with") or [])
    new = [i for i in dict.fromkeys(ids) if i and i not in have and i != owner_of(manifest)]
    if not new or is_shared(manifest):
        return False
    manifest["shared_with"] = have + new
    write_manifest(folder, manifest)
    return True


def set_shared(folder: Path | str, shared: bool, viewer: Viewer) -> None:
    """Share the run with everyone (or take that back): the teacher only."""
    folder = Path(folder)
    if not viewer.teacher:
        raise NotYours("Only the teacher can share a run with the class")
    manifest = read_manifest(folder)
    if manifest.get("status") == "running":
        raise RunError(f"Run {folder.name!r} is still training; share it when it has ended")
    manifest["shared"] = bool(shared)
    write_manifest(folder, manifest)


def visible(runs: list, viewer: Viewer) -> list:
    """The runs (anything with a `.manifest`) that `viewer` may see, in their order."""
    return [r for r in runs if can_see(r.manifest, viewer)]
