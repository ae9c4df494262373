"""nnlab's app: the router and the shared frame (page config, navigation, sidebar).

Run with `streamlit run streamlit_app.py`. Each page is a script in app_pages/, not pages/: Streamlit runs a
folder named pages/ as an old-style multipage app, without this router, until the router has run once, so a link
straight to a page on a freshly started server would open it without the sidebar.
"""

import pandas  # noqa: F401  (imported once here: two pages importing it at the same moment raced inside plotly)
import streamlit as st

import appkit
from appkit import lesson
from nnlab.runs import RunError

st.set_page_config(page_title="nnlab: see inside a neural network", page_icon=":material/neurology:", layout="wide")

PAGES = {
    "Start": [
        st.Page(appkit.page_file("home"), title="Home", icon=":material/home:", default=True),
        st.Page(appkit.page_file("lessons"), title="Lessons", icon=":material/school:"),
    ],
    "Data": [st.Page(appkit.page_file("datasets"), title="Datasets", icon=":material/dataset:")],
    "Train": [
        st.Page(appkit.page_file("train"), title="Train", icon=":material/model_training:"),
        st.Page(appkit.page_file("runs"), title="Runs", icon=":material/folder_open:"),
    ],
    "Inside the network": [
        st.Page(appkit.page_file("walkthrough"), title="Layer walk-through", icon=":material/layers:"),
        st.Page(appkit.page_file("class_averages"), title="Class averages", icon=":material/category:"),
        st.Page(appkit.page_file("attribution"), title="Attribution", icon=":material/center_focus_strong:"),
        st.Page(appkit.page_file("hidden"), title="Hidden layers", icon=":material/bubble_chart:"),
        st.Page(appkit.page_file("latent"), title="Latent space", icon=":material/scatter_plot:"),
        st.Page(appkit.page_file("attention"), title="Attention", icon=":material/visibility:"),
        st.Page(appkit.page_file("units"), title="Units", icon=":material/neurology:"),
    ],
    "Learning over time": [
        st.Page(appkit.page_file("weights"), title="Weight evolution", icon=":material/grid_on:"),
        st.Page(appkit.page_file("boundary"), title="Decision boundary", icon=":material/scatter_plot:"),
        st.Page(appkit.page_file("compare"), title="Compare runs", icon=":material/compare_arrows:"),
    ],
}

nav = st.navigation(lesson.navigation(PAGES))  # a focus lesson keeps only its pages
st.session_state[appkit.links.PAGE_PATH] = nav.url_path  # for the "link to this view" box
# A damaged run file (a snapshot, eval or steps file) says which, and what to do, on every page; st.stop and
# st.rerun raise other exceptions, so they pass through.
try:
    appkit.sidebar(PAGES)
except RunError as e:
    st.sidebar.error(str(e), icon=":material/broken_image:")
try:
    lesson.run(nav)  # the page, with the running lesson's step above it
except RunError as e:
    st.error(str(e), icon=":material/broken_image:")
