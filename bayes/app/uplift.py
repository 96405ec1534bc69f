"""Uplift targeting page: who to send a promotion. Rank customers by a learner's predicted
uplift (or any score), see the Qini curve with its bootstrap band, the Qini coefficient and
AUUC with intervals, and simulate the net revenue of targeting the top fraction under your
costs, valued by the order margin or the LTV posterior — seed 004. Every number comes from
bayes.uplift / models.uplift (through bayes.app.uplift_data)."""

import streamlit as st

from bayes import charts_decisions as charts
from bayes.app import data as appdata
from bayes.app import uplift_data as ud
from bayes.app.ui import stop_on_input_error
from bayes.formatting import fmt_number
from bayes.io import InputError
from priors.spec import interval_names

st.title("Uplift targeting")
st.caption(
    "Seed 004 · uplift learners scored on held-out customers, Qini and AUUC with stratified "
    "bootstrap bands, net revenue of targeting as a distribution · every number from "
    "bayes.uplift and models.uplift"
)
LO, HI = interval_names(0.9)
N_BOOT = 200


@st.cache_resource(show_spinner=False, max_entries=8)
def fitted(paths: tuple, digest: str, learner: str, seed: int):
    return ud.demo_scores(dict(paths), learner, seed=seed, n_boot=N_BOOT)


@st.cache_resource(show_spinner=False, max_entries=16)
def evaluated(key: str, _scores, outcome: str, treatment: str, score: str, k: float):
    return ud.evaluate(
        _scores, outcome=outcome, treatment=treatment, score=score, k=k, n_boot=N_BOOT,
        source=key.split("|")[0],
    )  # fmt: skip


@st.cache_resource(show_spinner=False, max_entries=4)
def ltv(orders: str, digest: str, ids: tuple, seed: int):
    return ud.ltv_values(orders, list(ids), seed=seed)


def interval(entry: dict, decimals: int = 3) -> str:
    if entry.get(LO) is None:
        return "no interval"
    return f"90% [{fmt_number(entry[LO], decimals)}, {fmt_number(entry[HI], decimals)}]"


from bayes.tracking import sha256_file  # noqa: E402

with st.sidebar:
    st.header("Data")
    source = st.radio(
        "scores", ["demo", "upload"], key="uplift_source",
        format_func={"demo": "demo promotion (generated, fitted here)",
                     "upload": "upload a scored file"}.get,
    )  # fmt: skip
    seed = st.number_input("seed", 0, 2**31 - 1, 0, key="uplift_seed")

if source == "demo":
    with st.spinner("Generating the demo promotion experiment (first use only)…"):
        paths = appdata.demo_uplift()
    c1, c2 = st.columns(2)
    learner = c1.selectbox(
        "learner", ud.learners(), key="learner",
        help="two-model (the seed's), S, X, cross-fitted doubly robust, causal forest (econml)",
    )  # fmt: skip
    digest = sha256_file(paths["experiment"])[:16]
    with stop_on_input_error():
        with st.spinner(f"Fitting the {learner} learner (cached after the first fit)…"):
            fit = fitted(tuple(sorted((k, str(v)) for k, v in paths.items())), digest, learner,
                         int(seed))  # fmt: skip
    score = c2.radio(
        "rank customers by", ["uplift", ud.TRUE_SCORE], horizontal=True, key="score",
        format_func={"uplift": f"{learner} learner's uplift",
                     ud.TRUE_SCORE: "true uplift (generated data only)"}.get,
    )  # fmt: skip
    label = f"{learner} learner" if score == "uplift" else "true uplift"
    scores = fit.scores
    outcome, treatment = ud.DEMO_COLUMNS["outcome"], ud.DEMO_COLUMNS["treatment"]
    p_treated = "p_treated"
    key = f"{paths['experiment']} (held-out rows)|{digest}|{learner}|{seed}"
    st.caption(
        f"{fit.settings['rows']:,} customers: the learner fitted on {fit.settings['train_rows']:,}"
        f", everything below on the {fit.settings['test_rows']:,} held-out ones."
    )
else:
    f = st.file_uploader(
        "a scored file (e.g. scores.csv of bayes uplift fit): outcome, treatment, a score",
        type=["csv", "parquet"], key="scores_file",
    )  # fmt: skip
    if f is None:
        st.info("Upload a scored file to evaluate and target it.")
        st.stop()
    path = appdata.save_upload(f.name, f.getvalue())
    from bayes.io import read_table

    with stop_on_input_error():
        scores = read_table(path)
    cols = [str(c) for c in scores.columns]

    def pick(name):
        return cols.index(name) if name in cols else 0

    c1, c2, c3 = st.columns(3)
    outcome = c1.selectbox("outcome (0/1)", cols, pick("converted"), key="up_outcome")
    treatment = c2.selectbox("treatment (0/1)", cols, pick("treatment_flag"), key="up_treatment")
    score = c3.selectbox("score", cols, pick("uplift"), key="up_score")
    p_treated = "p_treated" if "p_treated" in cols else None
    label = score
    key = f"{path}|{sha256_file(path)[:16]}"

k = st.slider("k for uplift at k (share targeted)", 0.05, 0.95, 0.3, step=0.05, key="k")
with stop_on_input_error():
    ev = evaluated(key, scores, outcome, treatment, score, float(k))

m = ev.metrics
tab_eval, tab_target = st.tabs(["Qini and AUUC", "Targeting simulator"])
with tab_eval:
    c1, c2, c3, c4 = st.columns(4)
    for col, name, title in (
        (c1, "qini_coefficient", "Qini coefficient"),
        (c2, "uplift_auc_score", "AUUC (normalised)"),
        (c3, "auuc_per_user", "AUUC per user"),
        (c4, "uplift_at_k_overall", f"uplift at k = {k:.0%}"),
    ):
        col.metric(title, fmt_number(m[name]["value"], 3), help=m[name]["normalisation"])
        col.caption(interval(m[name]))
    kind = st.radio(
        "curve", ["qini", "uplift"], horizontal=True, key="curve",
        format_func={"qini": "Qini curve", "uplift": "uplift curve"}.get,
    )  # fmt: skip
    st.plotly_chart(
        charts.uplift_curve_chart(ev.curves, kind, label=label), width="stretch", key="qini"
    )
    st.caption(
        "Qini coefficient = (area − random) / (perfect − random), scikit-uplift's "
        "qini_auc_score; AUUC normalised the same way (uplift_auc_score); AUUC per user = area "
        f"under the uplift curve / N². Bands and intervals: {N_BOOT} bootstrap replicates "
        f"stratified by arm. ATE in these users: {fmt_number(m['ate']['value'], 4)} "
        f"({interval(m['ate'], 4)})."
    )
    st.dataframe(ev.calibration, hide_index=True)

with tab_target:
    st.markdown(
        "Net revenue of sending the promotion to the top fraction by score: incremental "
        "conversions × value − the promotion paid on every treated conversion − the contact "
        "cost of every targeted customer (observed estimator: each draw a bootstrap replicate of "
        "the experiment)."
    )
    can_ltv = source == "demo"
    values = ["margin", "ltv"] if can_ltv else ["margin", "number"]
    c1, c2, c3, c4 = st.columns(4)
    valued = c1.radio(
        "value of a conversion", values, key="valued",
        format_func={"margin": "mean order margin", "ltv": "margin rate × 12-month LTV",
                     "number": "a number"}.get,
    )  # fmt: skip
    promo = c3.slider("promotion cost per treated conversion", 0.0, 10.0, 1.5, 0.1, key="promo")
    contact = c4.slider("contact cost per customer", 0.0, 2.0, 0.2, 0.05, key="contact")
    try:
        if valued == "ltv":
            rate = c2.slider(
                "margin rate", 0.05, 1.0, round(ud.margin_rate(paths["orders"]), 2), 0.01,
                key="margin_rate", help="margin per unit of revenue (default: the orders')",
            )  # fmt: skip
            with st.spinner("Fitting BG/NBD + Gamma-Gamma on the orders (NUTS; cached)…"):
                draws, diag = ltv(str(paths["orders"]), digest,
                                  tuple(scores[ud.DEMO_COLUMNS["id"]].astype(str)), int(seed))  # fmt: skip
            if not diag.get("ok", True):
                st.warning(
                    "The LTV posterior failed its convergence checks: "
                    + "; ".join(diag.get("problems", [])),
                    icon=":material/warning:",
                )
            value = rate * draws
            value_text = f"{rate:.2f} × 12-month LTV ({draws.sizes['sample']} posterior draws)"
        elif valued == "number":
            value = c2.number_input("value per conversion", 0.0, None, 10.0, key="value")
            value_text = f"{value:g} per conversion"
        else:
            value = ud.conversion_value(scores, outcome=outcome)
            c2.metric("mean margin per conversion", fmt_number(value, 2))
            value_text = f"{value:.2f} per conversion (mean margin)"
        res = ud.target(
            scores, score=score, value=value, promo_cost=promo, contact_cost=contact,
            outcome=outcome, treatment=treatment, p_treated=p_treated, n_boot=N_BOOT,
            seed=int(seed),
        )  # fmt: skip
    except (InputError, ValueError) as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    s = res.summary
    best, at_best, everyone = (
        s["best_fraction"],
        s["net_revenue_at_best"],
        s["net_revenue_target_all"],
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("best fraction to target", f"{best['value']:.0%}")
    c1.caption(f"90% [{best[LO]:.0%}, {best[HI]:.0%}] across draws")
    c2.metric("net revenue there", fmt_number(at_best["mean"], 0))
    c2.caption(f"90% [{fmt_number(at_best[LO], 0)}, {fmt_number(at_best[HI], 0)}]")
    c3.metric(
        "P(targeting beats not targeting)", fmt_number(s["p_targeting_beats_not_targeting"], 2)
    )
    c4.metric("targeting everyone", fmt_number(everyone["mean"], 0))
    c4.caption(f"90% [{fmt_number(everyone[LO], 0)}, {fmt_number(everyone[HI], 0)}]")
    st.plotly_chart(
        charts.net_revenue_chart(res.curve(), summary=s), width="stretch", key="net_revenue"
    )
    st.caption(
        f"Value: {value_text}. {s['draws']} draws ({s['estimator']} estimator) over "
        f"{s['users']:,} customers; best fraction: the one maximising the mean net revenue, "
        "its interval that of the maximising fraction across draws."
    )
