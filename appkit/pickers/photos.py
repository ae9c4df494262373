"""The photo picker of the pages that take a sample when the current run is a pretrained network (no history).

Where a recorded run offers its test samples (`pickers.samples`, `pickers.own_input`), a pretrained network offers its
photos: the bundled samples and this session's (`session.photos`), and an uploader that adds one. The photo shown is
shared by the walk-through and Attribution (`photo_pick`) and kept in the address by its number (`?photo=2`); the
photo itself never is. Session keys start with `photo_`.
"""

from __future__ import annotations

import streamlit as st

from appkit.session import links, photos

SHOWN = "photo_shown"  # the photo shown, its number among the run's samples: kept across pages (Streamlit drops a
# widget's own key on a page that does not draw it), the picker seeded from it
PICK = "photo_pick"  # the picker's widget key
ADD = "photo_add"  # the uploader that adds a photo
ADDED = "photo_added"  # the number the last added photo got (it is shown once, when it arrives)
KINDS = ["png", "jpg", "jpeg", "webp", "gif"]


def choose_photo(run) -> int:
    """The photo to show (its number among `run`'s samples); a photo uploaded here joins them and is shown."""
    with st.expander("Add a photo of yours", icon=":material/add_photo_alternate:"):
        file = st.file_uploader(
            "A photo (PNG, JPEG, WebP or GIF)",
            type=KINDS,
            key=ADD,
            help="It stays in this browser session: never written to disk, never put in a link.",
        )
        photo = photos.read_upload(file) if file is not None else None
        if photo is not None:
            number = photos.add_photo(photo.rgb)
            if st.session_state.get(ADDED) != number:  # just arrived: show it (the run's samples changed: rerun)
                st.session_state[ADDED] = number
                show(number)
                st.rerun()
    titles = run.titles
    if st.session_state.get(SHOWN) not in range(len(titles)):
        st.session_state[SHOWN] = 0
    st.session_state[PICK] = st.session_state[SHOWN]
    shown = links.pick(
        st.selectbox,
        "Photo",
        list(range(len(titles))),
        key=PICK,
        param="photo",
        what="photo",
        format_func=lambda i: titles[i] if 0 <= i < len(titles) else str(i),
        help=f"The sample photos and the ones you gave in this session (the last {photos.MAX_PHOTOS} are kept).",
        on_change=lambda: show(st.session_state[PICK]),
    )
    show(shown)
    return shown


def show(number: int) -> None:
    """Show the photo `number` on the pages that take one (the walk-through and Attribution share it)."""
    st.session_state[SHOWN] = int(number)


def verdict(names: list[str], pred: int, prob: float) -> str:
    """Markdown: what the network says of a photo, which has no truth to compare with."""
    return (
        f"The network says **{names[pred]}** ({prob:.0%}). Nobody told it what the photo shows, so nothing marks "
        "this right or wrong; it was trained elsewhere, so there is no training time to move through."
    )
