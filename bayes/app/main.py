"""Entry point of the app (``streamlit run bayes/app/main.py``; ``bayes app`` does it).

Builds the navigation from :data:`bayes.app.PAGES` and runs the page chosen.
"""

import streamlit as st

from bayes.app import available_pages, page_path

# no page_title: the browser tab shows the page's own title
st.set_page_config(page_icon=":material/insights:", layout="wide")

pages = [
    st.Page(str(page_path(p)), title=p.title, icon=p.icon, url_path=p.url, default=(i == 0))
    for i, p in enumerate(available_pages())
]
st.navigation(pages).run()
