"""The Decision boundary page's panels for 2-D data: what each hidden unit computes over the plane, and the GIF.

Used by `app_pages/boundary.py`; the maps come from `nnlab.analysis.boundary.unit_maps_info`, cached per run.
"""

from __future__ import annotations

import streamlit as st

from appkit.caches import network_points, run_cached, run_dataset
from appkit.frame.notes import how_to_read
from appkit.session import links
from nnlab.analysis import boundary as ba
from nnlab.figures import boundary as bf


@run_cached(max_entries=16)
def unit_maps(run, k: int, point: str) -> ba.UnitMaps:
    return ba.unit_maps_info(run, k, point, 40, data=run_dataset(run))


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def unit_maps_panel(ctx) -> None:
    """Every unit of a chosen hidden point over the data plane, at the sidebar's snapshot."""
    st.subheader("What each hidden unit sees")
    hidden = ba.unit_map_points(network_points(ctx.run))
    names = [p.name for p in hidden]
    if not names:
        st.caption("This network has no hidden layer: the output layer draws the boundary by itself.")
    else:
        if st.session_state.get("boundary_unit_point") not in names:
            st.session_state["boundary_unit_point"] = next((p.name for p in hidden if p.role == "activated"), names[0])
        point = links.pick(
            st.selectbox,
            "Layer output",
            names,
            key="boundary_unit_point",
            param="layer",
            what="layer",
            help="Raw outputs (dense1, …) come before the activation, activated ones after it.",
        )
        units = unit_maps(ctx.run, ctx.k, point)
        st.plotly_chart(
            bf.unit_maps_figure(
                units.maps,
                signed=units.signed,
                title=f"{point} at step {units.step}: {_units(len(units.maps))} over the same plane",
            ),
            key="boundary_units",
        )
        scale = "blue below 0, red above, white at 0" if units.signed else "dark where silent, bright where it fires"
        how_to_read(
            f"Each small square is the whole plane above, coloured by one unit's output: {scale}. First-layer units "
            "can only draw a straight edge; later layers combine those edges into the curved boundary. Use the "
            "sidebar's training time to see them at another snapshot."
        )


def gif_button(movie: ba.BoundaryMovie, mode: str, name: str) -> None:
    """A button that makes the animation's GIF when clicked (all frames, samples drawn on)."""
    st.download_button(
        "Download the animation as a GIF",
        lambda: bf.movie_gif(movie, mode=mode),
        f"{name}.gif",
        "image/gif",
        key="boundary_gif",
        icon=":material/gif_box:",
        on_click="ignore",
    )
