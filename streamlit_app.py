"""nnlab's app: the router and the shared frame (page config, navigation, sidebar).

Run with `streamlit run streamlit_app.py`. Each page is a script in app_pages/, not pages/: Streamlit runs a
folder named pages/ as an old-style multipage app, without this router, until the router has run once, so a link
straight to a page on a freshly started server would open it without the sidebar.
"""

import pandas  # noqa: F401  (imported once here: two pages importing it at the same moment raced inside plotly)
import streamlit as st

import appkit
from appkit.frame import lesson, navigation
from nnlab.runs import RunError

st.set_page_config(page_title="nnlab", page_icon=":material/neurology:", layout="wide")

PAGES = navigation.st_pages()  # the page list lives in appkit/frame/navigation.py, once

nav = st.navigation(lesson.navigation(PAGES), expanded=True)  # all open; a focus lesson keeps only its pages
st.set_page_config(page_title=navigation.tab_title(nav.title))  # the tab says which page: "Attention · nnlab"
navigation.compact_sidebar()
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
