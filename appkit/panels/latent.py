"""The Latent space page's own input: a drawing or an uploaded image encoded, placed on the code map, rebuilt.

Used by `app_pages/latent.py` before it draws the map: the picker of `appkit.pickers.own_input` in an expander, then
`nnlab.analysis.latent.encoded_input_info` at the sidebar's snapshot (so a new snapshot replays it), and the input
beside its reconstruction with where it lands in words. The input stays in the session, never in a link.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from appkit.frame.notes import how_to_read
from appkit.pickers import own_input
from nnlab.analysis import latent
from nnlab.figures import latent as latent_figures


def encoded_words(enc: latent.EncodedInput, m: latent.LatentMap, names: list[str], label: str, step: int) -> str:
    """ "Your drawing lands among the 7s (8 of its 10 nearest neighbours). …" in Markdown."""
    said = enc.place.words(names, label) + "."
    said = said[0].upper() + said[1:]
    if enc.probe is not None:
        said += f" The probe (the nearest class mean) says **{names[enc.probe]}**."
    typical = float(np.median(m.error)) if len(m.error) else float("nan")
    return (
        f"{said} At step {step} it is rebuilt with a mean squared error of {enc.error:.3f} "
        f"(the test samples' median: {typical:.3f})."
    )


def own_input_panel(run, ds, k: int, names: list[str], model, m: latent.LatentMap):
    """The picker, and for an input of your own its reconstruction and words; returns `(own, encoded)` or
    `(None, None)`."""
    own = own_input.picker_expander(ds, "Encode an input of your own: draw or upload one")
    if own is None:
        return None, None
    enc = latent.encoded_input_info(run, k, model, own.tensor, m.projection)
    pair = latent.as_images(
        np.stack([own.tensor[0].numpy(), enc.reconstruction]), ds.mean, ds.std, is_image=ds.is_image
    )
    left, right = st.columns([1, 1.2], vertical_alignment="center")
    with left:
        title = f"{own.label.capitalize()}, rebuilt from its code"
        labels = ["what goes in", "reconstruction"]
        st.plotly_chart(
            latent_figures.image_strip_figure(pair, labels=labels, title=title, cols=2, height=240), key="latent_own"
        )
    with right:
        st.markdown(encoded_words(enc, m, names, own.label, run.snapshots[k]["step"]))
        pca = " through the map's own PCA" if m.projection.is_pca else ""
        how_to_read(
            f"The red diamond on the map below is {own.label}, placed at its code{pca}; its neighbours are the test "
            "samples whose codes are nearest to it."
        )
    return own, enc
