"""Your photo: a photo of your own through a network trained on ImageNet, from the pixels to its top five classes.

Reads no run: the pretrained network (EfficientNet-Lite0 unless you registered your own) is built once per server
(`appkit.panels.photo`); `nnlab.analysis.photo` preprocesses, classifies and looks inside, `nnlab.figures.photo` draws.
"""

from __future__ import annotations

import streamlit as st

import appkit
from appkit.frame.gate import end_page
from appkit.panels import photo as photo_panel
from nnlab.analysis import photo as photo_analysis
from nnlab.figures import photo as photo_figures

STILL = {"displayModeBar": False}

st.title("Your photo")
st.caption(
    "Give a photo to a network that was trained on 1.28 million photos of 1,000 kinds of things, and watch what it "
    "does with it: how the photo becomes numbers, what the network thinks it shows, what each stage inside sees, and "
    "where it looks."
)
loaded = photo_panel.network_choice()
if loaded is None:
    end_page()
st.info(
    f"**{loaded.net.title}** — {loaded.net.help} It was trained elsewhere, so it has no training history here: "
    "nothing on this page moves with the sidebar's training-time slider.",
    icon=":material/info:",
)
picked = photo_panel.photo_input()
if picked is None:
    end_page()
photo, label = picked
looked = photo_panel.look(loaded, photo.rgb)
steps, seen, ranked = looked.steps, looked.seen, looked.ranked

st.subheader("1. From a photo to numbers", anchor=False)
st.plotly_chart(
    photo_panel.figure((looked.key, "steps"), lambda: photo_figures.preprocessing_figure(steps)),
    width="stretch",
    config=STILL,
)
st.plotly_chart(
    photo_panel.figure((looked.key, "input"), lambda: photo_figures.normalised_figure(steps)),
    width="stretch",
    config=STILL,
)
pre = loaded.net.preprocess
appkit.how_to_read(
    f"the network only takes {pre.crop}×{pre.crop} pixels. The photo's shorter side is scaled to {pre.resize} "
    f"pixels (2), the centre {pre.crop}×{pre.crop} square is cut out (3: the orange frame; what lies outside it is "
    f"never seen), and each colour channel becomes numbers around zero: (value − {pre.mean[0]:g}) / {pre.std[0]:g} "
    "(4: red above zero, blue below). These numbers are all the network gets."
)

st.subheader("2. What the network says", anchor=False)
st.plotly_chart(
    photo_panel.figure((looked.key, "top"), lambda: photo_figures.top_classes_figure(ranked)),
    width="stretch",
    config=STILL,
)
appkit.how_to_read(
    f"the five most likely of its {len(loaded.net.classes):,} classes, with the probability the softmax gives each. "
    "A photo of something that is not among the classes still gets spread over the closest ones; a low top "
    "probability means the network is unsure."
)
photo_panel.look_inside(loaded, photo.rgb)


@st.fragment
def stage_panel() -> None:
    st.subheader("3. Inside: every stage's feature maps", anchor=False)
    raw, act, show, count = photo_panel.stage_controls(loaded)
    stage = photo_analysis.stage_maps(seen, raw, act, show=show, n=count)
    title = f"{stage.name}: the {len(stage.channels)} strongest of {stage.total} channels"
    grid = photo_panel.figure(
        (looked.key, stage.name, count), lambda: photo_figures.channel_grid_figure(stage, title=title)
    )
    channel = photo_panel.channel_grid(grid, stage)
    values = seen.maps[stage.name][channel]
    fig = photo_panel.figure(
        (looked.key, stage.name, channel),
        lambda: photo_figures.channel_figure(
            steps.cropped, values, channel=channel, stage=stage.name, signed=stage.signed
        ),
    )
    st.plotly_chart(fig, width="stretch", config=STILL)
    appkit.how_to_read(
        "each tile is one channel: one detector, slid over the whole photo, bright where it responds. They are "
        "sorted by their mean response, strongest first. Early stages are large and answer to edges, colours and "
        "textures; deeper ones are small (7×7 at the end) and answer to parts and objects. **Raw** is the output "
        "of the batch norm, with either sign (red above zero, blue below); **activated** is after ReLU6, which keeps "
        "0 to 6. Click a tile (or choose it in the box) to enlarge it over the photo."
    )


stage_panel()


@st.fragment
def cam_panel() -> None:
    st.subheader("4. Where it looks: Grad-CAM", anchor=False)
    options = {int(i): f"{n} ({p:.0%})" for i, n, p in zip(ranked.index, ranked.names, ranked.probs, strict=True)}
    target = st.radio("Class", list(options), format_func=options.get, key="photo_cam_class", horizontal=True)
    cam = photo_panel.grad_cam(loaded, photo.rgb, looked, target)
    fig = photo_panel.figure(
        (looked.key, "cam", target), lambda: photo_figures.cam_figure(steps.cropped, cam, loaded.net.classes[target])
    )
    st.plotly_chart(fig, width="stretch", config=STILL)
    appkit.how_to_read(
        "Grad-CAM weighs each channel of the last stage (7×7 positions) by how much raising it would raise the "
        "class's score, adds them up and keeps what speaks for the class: bright where the evidence for that class "
        "lies. Pick another of the five classes: the network often finds each in a different part of the photo."
    )


cam_panel()


@st.fragment
def change_panel() -> None:
    st.subheader("5. What changes if I crop or rotate it?", anchor=False)
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    angle = c1.slider("Rotate (degrees)", -180, 180, 0, 15, key="photo_rotate")
    keep = c2.slider("Keep the centre (share of each side)", 0.2, 1.0, 1.0, 0.05, key="photo_keep")
    flip = c3.toggle("Mirror", key="photo_flip")
    if not angle and keep == 1.0 and not flip:
        st.caption("Rotate it, keep only its centre or mirror it: the changed copy appears beside the photo.")
        return
    change = ", ".join(
        w for w, on in ((f"rotated {angle}°", angle), (f"centre {keep:.0%}", keep < 1), ("mirrored", flip)) if on
    )
    other = photo_panel.look(loaded, photo_analysis.transformed(photo.rgb, rotate=angle, keep=keep, flip=flip))
    before, after = (steps.cropped, ranked), (other.steps.cropped, other.ranked)
    st.plotly_chart(photo_figures.compare_figure(before, after, change), width="stretch", config=STILL)
    st.plotly_chart(photo_figures.compare_bars_figure(ranked, other.ranked, change), width="stretch", config=STILL)
    appkit.how_to_read(
        "the same network on the photo and on a changed copy of it, each preprocessed the same way. ImageNet's photos "
        "are mostly upright and centred, so the network has seen few upside-down things: a rotation often changes "
        "its answer more than a mirror does, and keeping only the centre can lose the context it relied on."
    )


change_panel()

st.subheader("6. The network, layer by layer", anchor=False)
with st.expander("The network as a diagram", icon=":material/account_tree:"):
    photo_panel.diagram(loaded)
    st.caption(
        "Each box is a layer with its output's shape (channels × height × width) and its parameters, from the "
        "input at the top to the class scores at the bottom; the dashed groups are blocks (here a stage: a stack "
        "of MBConv blocks, each an expansion, a depthwise convolution and a projection, with a skip connection "
        "where the shape allows). A folded block is one box with its total. Click a block to open it in the "
        "layer walk-through (in a new tab, on the sample photos: a photo of yours stays in this tab)."
    )
appkit.show_code(photo_analysis.preprocess, photo_analysis.look, photo_analysis.stage_maps, photo_analysis.grad_cam)
