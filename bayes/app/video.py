"""Video decision page: edit the prior table; the sensitivity map D(α, β) and the
integrated-vs-standalone decision follow live (the count engine answers in milliseconds);
a pilot (the demo's or an upload) updates the priors by NUTS and its posterior (α̂, β̂) is
placed on the map."""

import json

import streamlit as st

from bayes import charts, headlines
from bayes.app import data as appdata
from bayes.formatting import compact, fmt_interval, fmt_number
from bayes.io import InputError
from priors.spec import PriorError

st.title("Video: integrated feed or standalone app?")
st.caption(
    "Seed 000 Part C, §6–§11 · ΔCore = incremental Core_90d users on the high-engagement "
    "share of the 24M active base · every number from bayes.video"
)


def interval_90(summary: dict, **kw) -> str:
    """The central 90% interval (``lower_90``/``upper_90``) of a summary, for people."""
    return fmt_interval(summary["lower_90"], summary["upper_90"], **kw)


@st.cache_data(show_spinner=False, max_entries=64)
def sensitivity(priors_json: str, draws: int, seed: int):
    from bayes.video.sensitivity import sensitivity_grid
    from priors.video import VideoPriors

    return sensitivity_grid(VideoPriors.from_dict(json.loads(priors_json)), draws=draws, seed=seed)


@st.cache_data(show_spinner=False, max_entries=64)
def decision(priors_json: str, draws: int, seed: int):
    from bayes.video.decide import simulation_summary
    from bayes.video.simulate import simulate
    from priors.video import VideoPriors

    priors = VideoPriors.from_dict(json.loads(priors_json))
    ds = simulate(priors, preset="bayes", draws=draws, seed=seed)
    return simulation_summary(ds, priors), ds["delta_core"]


@st.cache_resource(show_spinner=False, max_entries=8)
def pilot_update(pilot_path: str, digest: str, priors_json: str, draws: int, seed: int):
    from bayes.video.data import read_pilot
    from bayes.video.decide import update
    from models.sampling import SamplerConfig
    from priors.video import VideoPriors

    priors = VideoPriors.from_dict(json.loads(priors_json))
    return update(
        read_pilot(pilot_path),
        priors,
        sampler=SamplerConfig(draws=draws, tune=draws, chains=2, seed=seed),
        grid_draws=400,
        source=pilot_path,
    )


with st.sidebar:
    st.header("Monte Carlo")
    grid_draws = st.slider(
        "runs per cell of the sensitivity map", 100, 2000, 400, step=100, key="grid_draws"
    )
    decision_draws = st.slider(
        "prior draws for the decision", 1000, 20000, 4000, step=1000, key="decision_draws"
    )
    seed = int(st.number_input("seed", min_value=0, max_value=2**32 - 1, value=0, key="seed"))

# ------------------------------------------------------------------ the prior table
st.header("Prior table")
st.markdown(
    "Central values per segment (seed §6): adoption probability, weekly sessions, minutes per "
    "session and Core_90d uplift δ per adopter, for each mode. Edit a cell; everything below "
    "is recomputed."
)
from priors.video import load_video_table  # noqa: E402

declared = load_video_table().reset_index()
edited = st.data_editor(
    declared,
    key="video_prior_table",
    hide_index=True,
    disabled=["segment"],
    num_rows="fixed",
    width="stretch",
)
try:
    priors = appdata.video_priors(edited)
except PriorError as exc:
    st.error(f"The prior table has a bad entry: {exc}", icon=":material/error:")
    st.stop()
changed = int((edited.set_index("segment") != declared.set_index("segment")).to_numpy().sum())
st.caption(
    f"{changed} entr{'y' if changed == 1 else 'ies'} changed from priors/video_priors.csv"
    if changed
    else "The declared table (priors/video_priors.csv)."
)
priors_json = priors.to_json()

# ------------------------------------------------------------------ the decision
st.header("Decision under the priors")
summary, delta_core = decision(priors_json, decision_draws, seed)
st.markdown(f"**{headlines.video_decision(summary)}**")
d = summary["difference"]
c1, c2, c3, c4 = st.columns(4)
c1.metric(
    "ΔCore integrated",
    compact(summary["integrated"]["mean"]),
    help="mean; 90%: " + interval_90(summary["integrated"]),
)
c2.metric(
    "ΔCore standalone",
    compact(summary["standalone"]["mean"]),
    help="mean; 90%: " + interval_90(summary["standalone"]),
)
c3.metric(
    "standalone − integrated",
    compact(d["mean"], plus=True),
    help="mean; 90%: " + interval_90(d, plus=True),
)
c4.metric("P(standalone better)", fmt_number(d["p_standalone_better"], 2))
st.caption(
    f"Expected loss of choosing integrated {compact(summary['expected_loss']['integrated'])}, "
    f"standalone {compact(summary['expected_loss']['standalone'])} Core users; "
    f"{decision_draws:,} draws of every uncertain quantity from the PyMC prior, the whole "
    "population simulated exactly by binomial counts (preset bayes)."
)
st.plotly_chart(charts.delta_core_histogram(delta_core), width="stretch")

# ------------------------------------------------------------------ sensitivity
st.header("Sensitivity to the standalone multipliers (seed §9)")
grid = sensitivity(priors_json, grid_draws, seed)
at_one = float(grid.sel(alpha=1.0, beta=1.0))
st.markdown(
    f"D(1, 1) = **{compact(at_one, plus=True)}** Core users: with the table as it stands "
    + ("the standalone app wins." if at_one > 0 else "the integrated feed wins.")
    + f" Largest Monte Carlo error of a cell: {compact(grid.attrs['mc_se_max'])}."
)
st.plotly_chart(charts.sensitivity_heatmap(grid), width="stretch", key="heatmap")

# ------------------------------------------------------------------ pilot
st.header("Update after a pilot (seed §11)")
source = st.radio(
    "Pilot data",
    ["demo pilot", "upload"],
    format_func=lambda s: {
        "demo pilot": "the demo pilot (true α = 1.1, β = 1.05, 3,000 users per arm)",
        "upload": "upload a pilot table",
    }[s],
    horizontal=True,
    key="pilot_source",
)
pilot_path = None
if source == "upload":
    up = st.file_uploader(
        "Pilot table: one row per segment × arm (control, integrated, standalone) with users, "
        "adopters, core_90d (and optionally video_sessions_7d, video_minutes_7d)",
        type=["csv", "parquet"],
        key="pilot_file",
    )
    if up is not None:
        pilot_path = appdata.save_upload(up.name, up.getvalue())
else:
    pilot_path = appdata.demo_pilot()

result = None
if pilot_path is not None:
    from bayes.tracking import sha256_file
    from bayes.video.data import read_pilot

    try:
        pilot = read_pilot(pilot_path)
    except InputError as exc:
        st.error(str(exc), icon=":material/error:")
        pilot = None
    if pilot is not None:
        with st.expander(f"Pilot: {pilot_path.name}, {int(pilot['users'].sum()):,} users"):
            st.dataframe(pilot, hide_index=True)
        nuts_draws = st.select_slider(
            "NUTS draws per chain (2 chains)", [100, 200, 300, 500, 1000, 2000], 300,
            key="nuts_draws",
        )  # fmt: skip
        key = (str(pilot_path), sha256_file(pilot_path), priors_json, int(nuts_draws), seed)
        done = st.session_state.setdefault("video_updates", {})
        if st.button("Update the priors with this pilot", key="run_update", type="primary"):
            with st.spinner("Sampling the posterior (NUTS)…"):
                done[key] = pilot_update(*key)
        result = done.get(key)
        if result is None and done:
            st.info("The priors, the pilot or the settings changed: run the update again.")

if result is not None:
    s = result.summary
    st.markdown(f"**{headlines.video_update(s)}**")
    a, b = s["alpha_hat"], s["beta_hat"]
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        "α̂ (median)",
        fmt_number(a["median"], 2),
        help="90%: " + interval_90(a, fmt=fmt_number, decimals=2),
    )
    c2.metric(
        "β̂ (median)",
        fmt_number(b["median"], 2),
        help="90%: " + interval_90(b, fmt=fmt_number, decimals=2),
    )
    c3.metric("P(standalone better)", fmt_number(s["p_standalone_better"], 2))
    c4.metric("Recommendation", s["recommendation"])
    st.markdown(s["rule_11"]["text"])
    if not s["ok"]:
        st.warning(
            "The posterior failed its convergence checks: " + "; ".join(s["problems"]),
            icon=":material/warning:",
        )
    st.plotly_chart(
        charts.sensitivity_heatmap(
            result.grid,
            *result.multiplier_draws,
            title="Where the pilot puts (α̂, β̂) on the sensitivity map",
        ),
        width="stretch",
        key="heatmap_posterior",
    )
