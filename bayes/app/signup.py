"""Signup audiences page: the seven business rules of seed 003 §6 as controls; the audience,
its expected signups with their interval, and the audience as CSV. Pairs are scored once
(seed EB or the hierarchical model); the rules then run in milliseconds."""

import streamlit as st

from bayes import charts, headlines
from bayes.app import data as appdata
from bayes.app.ui import stop_on_input_error
from bayes.formatting import fmt_number

st.title("Signup audiences")
st.caption(
    "Seed 003 · per-recipient signup probability per topic, the seven business rules of §6, "
    "expected signups · every number from bayes.signup"
)


@st.cache_resource(show_spinner=False, max_entries=8)
def scores(events: str, campaigns: str, signups: str | None, digest: str, method: str, draws: int):
    return appdata.signup_scores(events, campaigns, signups, method=method, draws=draws)


# ------------------------------------------------------------------ data and method
with st.sidebar:
    st.header("Data")
    source = st.radio(
        "Inputs",
        ["demo", "upload"],
        format_func=lambda s: {"demo": "demo data (generated)", "upload": "upload files"}[s],
        key="signup_source",
    )
    paths = None
    if source == "upload":
        ev = st.file_uploader("events (CSV/Parquet)", type=["csv", "parquet"], key="events")
        ca = st.file_uploader("campaigns (CSV/Parquet)", type=["csv", "parquet"], key="campaigns")
        si = st.file_uploader("signups (optional)", type=["csv", "parquet"], key="signups_file")
        if ev is not None and ca is not None:
            paths = {
                "events": appdata.save_upload(ev.name, ev.getvalue()),
                "campaigns": appdata.save_upload(ca.name, ca.getvalue()),
                "signups": appdata.save_upload(si.name, si.getvalue()) if si else None,
            }
    else:
        with st.spinner("Generating the demo data (first use only)…"):
            paths = appdata.demo_signup()
    st.header("Model")
    method = st.radio(
        "Scoring",
        ["eb", "hierarchical"],
        format_func=lambda m: {
            "eb": "seed empirical Bayes (instant)",
            "hierarchical": "hierarchical beta-binomial (NUTS, intervals)",
        }[m],
        key="method",
    )
    draws = 300
    if method == "hierarchical":
        draws = st.select_slider(
            "NUTS draws per chain", [100, 200, 300, 500, 1000], 300, key="signup_draws"
        )

if paths is None:
    st.info("Upload an events and a campaigns table (signups optional) in the sidebar.")
    st.stop()

from bayes.tracking import sha256_file  # noqa: E402

digest = "-".join(sha256_file(p)[:16] for p in paths.values() if p is not None)
with stop_on_input_error():
    with st.spinner("Counting and scoring every (email, topic) pair…"):
        sc = scores(
            str(paths["events"]),
            str(paths["campaigns"]),
            str(paths["signups"]) if paths.get("signups") else None,
            digest,
            method,
            int(draws),
        )
st.caption(
    f"{sc.n_events:,} events → {sc.n_pairs:,} (email, topic) pairs over {len(sc.topics)} "
    f"topics; as of {sc.as_of:%Y-%m-%d %H:%M} UTC. Counted on {sc.counted}."
)

# ------------------------------------------------------------------ the seven rules
st.header("Business rules (seed §6)")
c1, c2, c3 = st.columns(3)
with c1:
    goal = st.radio(
        "1 · goal",
        ["new", "all"],
        format_func=lambda g: {"new": "new acquisition (exclude owners)", "all": "everyone"}[g],
        key="goal",
    )
    st.caption("2 · recipients who unsubscribed or complained in the topic are always excluded")
    min_sends = int(st.number_input("3 · minimum sends in the topic", 0, 1000, 1, key="min_sends"))
with c2:
    use_recency = st.checkbox("4 · opened recently", key="use_recency")
    recency = st.number_input(
        "last open within (days)", 1, 3650, 30, key="recency_days", disabled=not use_recency
    )
    domains = st.multiselect("5 · e-mail domains (none: all)", sc.domains, key="domains")
with c3:
    use_tau = st.checkbox("6 · minimum signup probability", key="use_tau")
    tau = st.number_input(
        "p_signup at least", 0.0, 1.0, 0.01, step=0.005, format="%.4f", key="tau",
        disabled=not use_tau,
    )  # fmt: skip
    use_top = st.checkbox("7 · top N per topic", value=True, key="use_top")
    top_n = st.number_input("N", 1, 10_000_000, 200, key="top_n", disabled=not use_top)
topic = st.selectbox("topic", ["(all topics)"] + sc.topics, key="topic")

from bayes.signup.audience import AudienceRules  # noqa: E402

with stop_on_input_error():
    rules = AudienceRules(
        goal=goal,
        min_sends=min_sends,
        recency_days=float(recency) if use_recency else None,
        domains=tuple(domains) or None,
        min_prob=float(tau) if use_tau else None,
        top_n=int(top_n) if use_top else None,
        topic=None if topic == "(all topics)" else topic,
    )
    audience, funnel, expected = appdata.signup_audience(sc, rules)

# ------------------------------------------------------------------ the audience
st.header("Audience")
total = expected[expected["topic"] == "(all)"].iloc[0].to_dict()
st.markdown(f"**{headlines.signup_audience(total, method=method)}**")
m1, m2, m3 = st.columns(3)
m1.metric("recipients", f"{len(audience):,}")
m2.metric("expected signups", fmt_number(total["expected_signups"], 1))
if "lower_90" in total:
    m3.metric(
        "90% interval",
        f"{fmt_number(total['lower_90'], 1)} – {fmt_number(total['upper_90'], 1)}",
        help="central 90% posterior interval of the expected signups (hierarchical model)",
    )
else:
    m3.metric("90% interval", "—", help="the seed's empirical Bayes gives point estimates only")
left, right = st.columns(2)
left.plotly_chart(charts.funnel_chart(funnel), width="stretch", key="funnel")
right.plotly_chart(charts.expected_signups_chart(expected), width="stretch", key="expected")
st.download_button(
    f"Download the audience ({len(audience):,} rows, CSV)",
    data=appdata.audience_csv(audience),
    file_name="audience.csv",
    mime="text/csv",
    key="download",
    icon=":material/download:",
)
shown = [c for c in audience.columns if c not in ("opted_out", "last_open_ts")]
st.dataframe(audience[shown].head(500), hide_index=True, width="stretch")
st.caption("First 500 rows, by topic and p_signup; the download has them all.")
