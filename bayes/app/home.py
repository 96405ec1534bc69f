"""Overview page: what each page answers and where its data comes from."""

import streamlit as st

from bayes import __version__
from bayes.app import PAGES, available_pages
from bayes.app.data import data_root

st.title("Bayesian workbench")
st.caption(
    f"bayes {__version__} · priors declared once, simulated forward to decide, updated with "
    "data to decide again"
)

st.markdown(
    """
Each page runs the workbench's own library — the numbers are those of the command line.
By default the pages use the demo's generated data (made on first use at quick sizes and
cached); every page also takes your files by upload.
"""
)

DESCRIPTIONS = {
    "video": "**Video decision** — edit the prior table and watch the sensitivity map "
    "D(α, β) and the integrated-vs-standalone decision update; upload a pilot to place the "
    "posterior (α̂, β̂) on the map (seed 000 §9–§11).",
    "signup": "**Signup audiences** — the seven business rules of seed 003 as controls; the "
    "audience, its expected signups with their interval, and a CSV download.",
    "ltv": "**Customer LTV** — look a customer up: P(alive), expected purchases and 6/12-month "
    "LTV with 90% intervals (BG/NBD + Gamma-Gamma); weekly cohort retention (seed 004).",
    "experiments": "**Experiments** — plan a test (power, sample size, MDE for rates and means, "
    "with CUPED) and read one out: the lift with its credible interval, the chance to win in "
    "words, the expected loss, the sample-ratio guard and the decision (seed 004).",
    "uplift": "**Uplift targeting** — who to send a promotion: Qini curve with its band, Qini "
    "coefficient and AUUC with intervals, and net revenue against the fraction targeted under "
    "your costs, with the best fraction and P(targeting beats not targeting) (seed 004).",
}
shown = {p.url for p in available_pages()}
for page in PAGES:
    if page.url in DESCRIPTIONS:
        st.markdown(("- " if page.url in shown else "- (not installed) ") + DESCRIPTIONS[page.url])
st.caption(f"App data and cached fits: `{data_root()}` (set BAYES_APP_DATA to move it).")
