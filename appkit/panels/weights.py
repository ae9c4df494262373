"""A vision transformer's class token and position embeddings on the Weights page.

Used by `app_pages/weights.py`: the tokens come from `nnlab.analysis.positions.token_history`, cached per run,
and are drawn with `nnlab.figures.positions` at the sidebar's snapshot.
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import network_points, run_cached
from appkit.frame.notes import how_to_read
from nnlab.analysis import positions as pa
from nnlab.figures import positions as pf


@run_cached(max_entries=4)
def tokens_of(run) -> pa.TokenHistory | None:
    """A transformer's class token and position embeddings at every snapshot (None for other networks, and for a
    module of your own: nnlab knows its points only once recorded, not its kind)."""
    if run.model_config is None:
        return None
    return pa.token_history(run, points=network_points(run))


def token_panels(run, snap: int) -> tuple:
    """The section for a transformer run (nothing for other networks); returns the functions behind it."""
    tokens = tokens_of(run)
    if tokens is None:
        return ()
    st.subheader("The class token and the position embeddings")
    st.plotly_chart(pf.token_embeddings_figure(tokens, snap), key="weights_tokens")
    how_to_read(
        "Left, the class token at every snapshot (the black line marks the sidebar's): it starts at zero, and "
        "training writes into it what the head reads once the blocks have mixed in the patches. Right, the "
        "position embeddings at the sidebar's snapshot, one row per token: what the network adds to each patch so "
        "that it knows where the patch lies. Red is positive, blue negative."
    )
    similarity = pa.position_similarity(tokens.pos[snap], tokens.grid)
    title = f"How alike each patch's position embedding is to the others, at step {int(tokens.steps[snap]):,}"
    st.plotly_chart(pf.position_figure(similarity, tokens.grid, title=title), key="weights_positions")
    how_to_read(
        "One small map per patch, placed where that patch lies: the cosine similarity of its position embedding "
        "with every patch's (red alike, blue opposite). Look for a red spot around each map's own place: the "
        "network has then learned the 2-D grid from nothing but the patches' order. "
        + pa.describe_positions(similarity, tokens.grid)
    )
    return pa.token_history, pa.position_similarity
