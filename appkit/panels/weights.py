"""The Weights page's sections for particular networks: a vision transformer's class token and position embeddings,
and a toy model of superposition's features.

Used by `app_pages/weights.py`: the tokens come from `nnlab.analysis.positions.token_history`, cached per run,
and are drawn with `nnlab.figures.positions` at the sidebar's snapshot; a toy model's features come from
`nnlab.analysis.superposition` and are drawn with `nnlab.figures.superposition`.
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import network_points, run_cached
from appkit.frame.notes import how_to_read
from nnlab.analysis import positions as pa
from nnlab.analysis import superposition
from nnlab.figures import positions as pf
from nnlab.figures import superposition as superposition_figures


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


@run_cached(max_entries=4)
def toy_history(run) -> tuple | None:
    """Each feature's norm at every snapshot of a toy model of superposition (None for other networks)."""
    return superposition.norms_history(run) if superposition.applies(run) else None


def superposition_panels(run, snap: int) -> tuple:
    """The section for a toy model of superposition (nothing for other networks); returns the functions behind it."""
    history = toy_history(run)
    if history is None:
        return ()
    info = superposition.superposition_info(run, snap)
    with st.container(key="weights_toy"):
        st.subheader("Superposition: where each feature sits")
        st.markdown(
            f"This toy model squeezes {info.n_features} features into {info.dims} dimensions (h = Wx) and rebuilds "
            f"them (x' = ReLU(Wᵀh + b)). At step {info.step:,}, {info.n_represented} features are represented "
            f"(‖Wᵢ‖ ≥ {superposition.REPRESENTED}) and {info.n_superposed} of them share their direction with others."
        )
        title = f"at step {info.step:,}"
        norms = superposition_figures.norms_figure(
            info.norms, info.superposition, title=f"Each feature's norm, {title}"
        )
        if info.dims == 2:  # the hidden space is a plane: the features as arrows in it, beside their norms
            left, right = st.columns(2)
            arrows = superposition_figures.arrows_figure(info.weights, title=f"Each feature's direction, {title}")
            left.plotly_chart(arrows, key="weights_toy_arrows")
            right.plotly_chart(norms, key="weights_toy_norms")
        else:
            st.plotly_chart(norms, key="weights_toy_norms")
        how_to_read(
            "With a 2-D hidden space, column i of W is drawn as an arrow: where feature i goes in the hidden "
            "space. The bars are its length ‖Wᵢ‖: about 1 means the feature is kept, about 0 that it is dropped. The "
            "colour is the sum of (Ŵᵢ·Wⱼ)² over the other features j, how much of them lies along feature i's "
            "direction: dark when the feature has its direction to itself, bright when it shares it (superposition); "
            "a dropped feature's bar is faint."
        )
        st.plotly_chart(superposition_figures.gram_figure(info.gram, title=f"WᵀW {title}"), key="weights_toy_gram")
        how_to_read(
            "Row i, column j: the dot product of feature i's and feature j's directions. The diagonal is each "
            "feature's ‖Wᵢ‖². Off the diagonal, zero means the two features do not interfere; red, that reading one "
            "also reads some of the other; blue, that they point away from each other (a ReLU can cut that off)."
        )
        steps, over_time = history
        st.plotly_chart(
            superposition_figures.norms_history_figure(steps, over_time, active_step=info.step),
            key="weights_toy_history",
        )
        how_to_read("‖Wᵢ‖ of every feature at every snapshot; the dotted line is the sidebar's training time.")
    return (
        superposition.superposition_info,
        superposition.superposition,
        superposition.norms_history,
        superposition_figures.arrows_figure,
    )
