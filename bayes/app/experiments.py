"""Experiments page: plan an A/B test (power, sample size, MDE for proportions and means, with
CUPED's variance factor) and read one out (Bayesian lift, chance to win, expected loss, the
sample-ratio guard and the decision, the frequentist estimate beside it) — seed 004. Every
number comes from models.experiments / bayes.experiments (through bayes.app.experiments_data)."""

import streamlit as st

from bayes import charts_decisions as charts
from bayes.app import data as appdata
from bayes.app import experiments_data as ed
from bayes.app.ui import stop_on_input_error
from bayes.experiments.data import PAST_EXPERIMENTS
from bayes.formatting import fmt_number
from models.experiments.power import ALTERNATIVES, PowerError
from priors.spec import interval_names

st.title("Experiments")
st.caption(
    "Seed 004 · power and MDE (statsmodels' conventions), CUPED, a Bayesian A/B readout with "
    "its guards · every number from models.experiments and bayes.experiments"
)
LO, HI = interval_names(0.9)
#: the share of the treatment's web users the faulty demo loses (a sample-ratio mismatch)
SRM_FAULT = 0.3


def pct(x: float, decimals: int = 1) -> str:
    return f"{x:+.{decimals}%}"


@st.cache_resource(show_spinner=False, max_entries=8)
def cached_library(path: str, digest: str):
    return ed.library_model(path)


@st.cache_resource(show_spinner=False, max_entries=32)
def cached_readout(path: str, digest: str, arm: str, metric: str, covariates: tuple,
                   control: str | None, split: float, time: str | None, tolerance: float,
                   library_key: str | None = None, _library=None):  # fmt: skip
    # _library (not hashed by Streamlit) is the fitted library that library_key names
    return ed.readout(
        path, arm=arm, metric=metric, covariates=covariates, control=control,
        expected_split=split, time=time, tolerance=tolerance, library=_library,
    )  # fmt: skip


tab_plan, tab_read = st.tabs(["Plan: power, sample size, MDE", "Read out an experiment"])

# ----------------------------------------------------------------------------- planning
with tab_plan:
    c1, c2, c3 = st.columns(3)
    metric = c1.radio(
        "metric", ["proportion", "mean"], horizontal=True, key="plan_metric",
        format_func=lambda m: {"proportion": "conversion rate", "mean": "mean (revenue…)"}[m],
    )  # fmt: skip
    solve = c2.radio(
        "solve for", list(ed.PLAN_SOLVE), format_func=ed.PLAN_SOLVE.get, horizontal=True,
        key="plan_solve",
    )  # fmt: skip
    alternative = c3.selectbox("alternative", ALTERNATIVES, key="plan_alternative")
    c1, c2, c3, c4 = st.columns(4)
    if metric == "proportion":
        baseline = c1.number_input(
            "baseline conversion rate", 0.0001, 0.9999, 0.10, step=0.01, format="%.4f",
            key="plan_baseline",
        )  # fmt: skip
        sd = 1.0
        convention = c4.selectbox(
            "variance convention", ["pooled", "cohen_h"], key="plan_convention",
            help="pooled: z-test with the pooled variance under the null (R power.prop.test); "
            "cohen_h: normal test on Cohen's h (statsmodels NormalIndPower)",
        )  # fmt: skip
        test = "t"
    else:
        baseline = c1.number_input(
            "control mean (for a relative MDE)", 0.0, None, 40.0, step=1.0, key="plan_mean"
        )
        sd = c4.number_input("sd per user", 0.0001, None, 100.0, step=1.0, key="plan_sd")
        test = c4.selectbox("test", ["t", "z"], key="plan_test")
        convention = "pooled"
    relative = c2.toggle("MDE relative to the baseline", False, key="plan_relative")
    mde = None
    if solve != "mde":
        default = 0.10 if relative else (0.02 if metric == "proportion" else 5.0)
        mde = c2.number_input(
            "MDE (share of the baseline)" if relative else "MDE (absolute)",
            value=default, step=0.005 if metric == "proportion" else 0.5, format="%.4f",
            key=f"plan_mde_{metric}_{relative}",
        )  # fmt: skip
    n = None
    if solve != "n":
        n = c3.number_input("users per control arm", 2, None, 10_000, step=500, key="plan_n")
    power = None
    if solve != "power":
        power = c3.slider("power", 0.50, 0.99, 0.80, step=0.01, key="plan_power")
    c1, c2, c3 = st.columns(3)
    alpha = c1.select_slider("α (level)", [0.001, 0.01, 0.025, 0.05, 0.10, 0.20], 0.05,
                             key="plan_alpha")  # fmt: skip
    ratio = c2.number_input(
        "treatment users per control user", 0.05, 20.0, 1.0, step=0.25, key="plan_ratio"
    )
    rho = c3.slider(
        "CUPED: correlation ρ of the covariate", 0.0, 0.95, 0.0, step=0.05, key="plan_rho",
        help="variance factor 1 − ρ² (Deng et al. 2013); 0 = no CUPED",
    )  # fmt: skip
    try:
        res = ed.plan(
            metric, solve, baseline=baseline, mde=mde, relative=relative, sd=sd,
            n=None if n is None else float(n), power=power, alpha=alpha,
            alternative=alternative, ratio=ratio, convention=convention, test=test, rho=rho,
        )  # fmt: skip
    except PowerError as exc:
        st.error(f"No answer: {exc}", icon=":material/error:")
    else:
        m1, m2, m3, m4 = st.columns(4)
        users_c, users_t = res.users_per_arm
        m1.metric("users per control arm", f"{users_c:,}")
        m2.metric("users in treatment", f"{users_t:,}")
        m3.metric("total users", f"{res.total_users:,}")
        m4.metric("power", fmt_number(res.power, 3))
        if metric == "proportion":
            effect = (
                f"{res.baseline:.4g} → {res.baseline + res.effect:.4g} "
                f"({res.effect:+.4g} absolute, {pct(res.relative_effect, 2)} relative)"
            )
        else:
            rel = f", {pct(res.relative_effect, 2)} relative" if res.relative_effect else ""
            effect = f"{res.effect:+.4g} in the metric's units (d = {res.effect_size:.4g}{rel})"
        st.markdown(
            f"**{ed.PLAN_SOLVE[res.solved_for].capitalize()}** solved: effect {effect}; "
            f"α {res.alpha:g} {res.alternative}, variance factor "
            f"{fmt_number(res.variance_factor, 4)}."
        )
        st.caption(f"Convention: {res.to_dict()['convention_text']}.")
        st.plotly_chart(
            charts.power_curve_chart(ed.plan_curve(res), result=res),
            width="stretch",
            key="power_curve",
        )

    with st.expander("Bayesian sizing: users until the expected loss of the decision is small"):
        b1, b2 = st.columns(2)
        threshold = b1.select_slider(
            "tolerated expected loss (share of the control mean)",
            [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01], 0.001, format_func=lambda x: f"{x:.2%}",
            key="size_threshold",
        )  # fmt: skip
        if metric == "proportion":
            cv = ed.conversion_cv(baseline)
            b2.caption(f"coefficient of variation per user √((1 − p)/p) = {cv:.3g}")
        else:
            cv = b2.number_input(
                "coefficient of variation per user (sd / mean)", 0.01, None,
                round(sd / baseline, 3) if baseline else 2.5, key="size_cv",
            )  # fmt: skip
        try:
            size = ed.sizing(cv=cv, ratio=ratio, rho=rho, threshold=threshold)
        except ValueError as exc:
            st.error(str(exc), icon=":material/error:")
        else:
            st.metric("users per control arm (expected loss)", f"{size['users_control']:,}")
            st.caption(
                f"Prior for the relative lift: {size['prior']} (declared, priors/experiments.py); "
                "the expected loss after n users is the prior's minus the expected value of the "
                "sample information (models.experiments.sizing, as bayes experiment size)."
            )
            st.plotly_chart(
                charts.expected_loss_chart(size["table"], threshold=threshold),
                width="stretch",
                key="expected_loss",
            )

# ----------------------------------------------------------------------------- readout
with tab_read:
    source = st.radio(
        "data",
        ["demo", "demo_srm", "upload"],
        horizontal=True,
        key="exp_source",
        format_func=lambda s: {
            "demo": "demo experiment (generated)",
            "demo_srm": f"demo with a sample-ratio fault ({SRM_FAULT:.0%} of treated web users lost)",
            "upload": "upload a CSV / Parquet",
        }[s],
    )
    path = None
    if source == "upload":
        f = st.file_uploader(
            "one row per user: an arm column with two labels, numeric metrics",
            type=["csv", "parquet"],
            key="exp_file",
        )
        if f is not None:
            path = appdata.save_upload(f.name, f.getvalue())
    else:
        with st.spinner("Generating the demo experiment (first use only)…"):
            path = appdata.demo_experiment(srm=SRM_FAULT if source == "demo_srm" else 0.0)
    if path is None:
        st.info("Upload an experiment file to read it out.")
        st.stop()
    with stop_on_input_error():
        columns, numeric = ed.file_columns(path)

    def pick(options, preferred):
        return options.index(preferred) if preferred in options else 0

    c1, c2, c3, c4 = st.columns(4)
    arm = c1.selectbox("arm column", columns, pick(columns, "arm"), key="exp_arm")
    metrics = [c for c in numeric if c != arm]
    if not metrics:
        st.error(f"{path.name}: no numeric metric column besides the arm.")
        st.stop()
    metric = c2.selectbox("metric", metrics, pick(metrics, "revenue"), key="exp_metric")
    method = c3.radio(
        "adjustment", ["cuped", "none"], horizontal=True, key="exp_method",
        format_func={"cuped": "CUPED (covariates)", "none": "none"}.get,
    )  # fmt: skip
    covariates = []
    if method == "cuped":
        options = [c for c in metrics if c != metric]
        pre = [c for c in options if c.startswith("pre_")]
        default = [f"pre_{metric}"] if f"pre_{metric}" in options else pre[:1]
        covariates = c4.multiselect(
            "pre-period covariates", options, default, key="exp_covariates",
            help="one covariate: CUPED (Deng et al. 2013); several: Lin's regression adjustment",
        )  # fmt: skip
        if not covariates:
            c4.caption("No covariate chosen: the plain difference in means.")
    p1, p2 = st.columns([1, 2])
    prior_source = p1.radio(
        "prior for the lift", ["declared", "library"], key="exp_prior",
        format_func={"declared": "declared (priors/experiments.py)",
                     "library": "learned from past experiments"}.get,
        help="learned: the predictive of the next lift from a library of past experiments' "
        "lifts (hierarchical model, NUTS), as bayes experiment analyze --library",
    )  # fmt: skip
    library_path = None
    if prior_source == "library":
        library_source = p2.radio(
            "library of past experiments", ["demo", "upload"], horizontal=True,
            key="exp_library_source",
            format_func={"demo": f"demo: {PAST_EXPERIMENTS} past experiments "
                         "(generated)", "upload": "upload"}.get,
        )  # fmt: skip
        if library_source == "upload":
            lf = p2.file_uploader(
                "past lifts (experiment, lift, se; CSV / Parquet) or a library.nc written by "
                "bayes experiment library",
                type=["csv", "parquet", "nc"],
                key="exp_library_file",
            )
            if lf is not None:
                library_path = appdata.save_upload(lf.name, lf.getvalue())
            else:
                p2.info("Upload a library; until then the declared prior is used.")
        else:
            library_path = appdata.demo_library()
    from bayes.tracking import sha256_file

    library = library_key = None
    if library_path is not None:
        library_key = f"{library_path}:{sha256_file(library_path)}"
        with stop_on_input_error():
            with st.spinner("Learning the prior from the past experiments (first use only)…"):
                library = cached_library(str(library_path), library_key)
        p2.caption(
            f"{len(library.data_)} past experiments; prior for the next lift "
            f"{library.next_lift_prior()}; fit diagnostics: {library.diagnostics_}"
        )
        if not library.diagnostics_.ok:
            p2.warning("The library's fit fails its diagnostics: read its prior with care.")
    with st.expander("plan, control arm, time column, loss tolerance"):
        e1, e2, e3, e4 = st.columns(4)
        split = e1.number_input(
            "planned treatment share", 0.01, 0.99, 0.5, step=0.05, key="exp_split"
        )
        control = e2.text_input("control label (empty: guessed)", "", key="exp_control")
        times = ["(none)"] + [c for c in columns if c.endswith(("_ts", "time", "date"))]
        time = e3.selectbox("time column (sequential view)", times, key="exp_time")
        tolerance = e4.select_slider(
            "loss tolerance (share of the control mean)", [0.0001, 0.0005, 0.001, 0.005, 0.01],
            0.001, format_func=lambda x: f"{x:.2%}", key="exp_tolerance",
        )  # fmt: skip
    with stop_on_input_error():
        with st.spinner("Reading the experiment out…"):
            r = cached_readout(
                str(path), sha256_file(path), arm, metric, tuple(covariates),
                control or None, float(split), None if time == "(none)" else time,
                float(tolerance), library_key, _library=library,
            )  # fmt: skip

    if r.srm["mismatch"]:
        st.error(f"Sample-ratio guard: {r.srm['message']}", icon=":material/gpp_bad:")
    else:
        st.success(f"Sample-ratio guard: {r.srm['message']}", icon=":material/verified_user:")
    st.markdown(f"### {r.analysis.headline}")
    b = r.bayes
    left, right = st.columns(2)
    with left:
        st.subheader("Bayesian readout")
        st.caption(f"{b['model']}; prior {ed.prior_text(r)}")
        if library is not None and not ed.uses_library(r):
            st.caption(
                "The library's prior is for the relative lift of the Normal model; this 0/1 "
                "metric without covariates is read out by the exact Beta-Binomial model, with "
                "its own declared priors."
            )
        rel, ab = b["relative_lift"], b["absolute_lift"]
        k1, k2 = st.columns(2)
        k1.metric("relative lift", pct(rel["mean"], 2), help="posterior mean")
        k1.caption(f"90% credible interval [{pct(rel[LO], 2)}, {pct(rel[HI], 2)}]")
        k2.metric("absolute lift", fmt_number(ab["mean"], 4))
        k2.caption(f"90% credible interval [{fmt_number(ab[LO], 4)}, {fmt_number(ab[HI], 4)}]")
        k1, k2 = st.columns(2)
        k1.metric("chance to win", f"{b['chance_to_win']:.1%}")
        loss = b["expected_loss_relative"]
        k2.metric("expected loss if shipped", f"{loss['choose_treatment']:.3%}",
                  help="E[max(control − treatment, 0)] as a share of the control's mean")  # fmt: skip
        k2.caption(f"if the control is kept: {loss['choose_control']:.3%}")
        st.markdown(f"There is {r.decision['chance_in_words']}.")
        action = r.decision["action"].replace("_", " ")
        st.markdown(f"**Decision:** {action} — {r.decision['reason']}.")
    with right:
        st.subheader("Frequentist estimate")
        est = r.frequentist
        row = est.iloc[-1]
        st.caption(f"{row['method']}: Welch/CUPED/Lin estimate with 90% confidence intervals")
        k1, k2 = st.columns(2)
        k1.metric("relative lift (estimate)", pct(row["relative"], 2))
        k1.caption(
            f"90% confidence interval [{pct(row['relative_lower_90'], 2)}, "
            f"{pct(row['relative_upper_90'], 2)}]"
        )
        k2.metric("p-value", f"{row['p_value']:.3g}")
        k2.caption("the chance to win is not 1 − p")
        if "variance_reduction" in est.columns and row["method"] == "cuped":
            st.caption(f"CUPED: variance reduced by {row['variance_reduction']:.1%} "
                       f"(θ = {row['theta']:.4g}, ρ² = {row['rho2']:.3f}).")  # fmt: skip
        shown = ["method", "mean_control", "mean_treatment", "difference", LO, HI, "relative",
                 "p_value"]  # fmt: skip
        st.dataframe(est[[c for c in shown if c in est.columns]], hide_index=True)
    st.plotly_chart(
        charts.lift_posterior_chart(ed.lift_draws(r), lower=rel[LO], upper=rel[HI],
                                    metric=metric),
        width="stretch",
        key="lift_posterior",
    )  # fmt: skip
    if r.analysis.sequential is not None and len(r.analysis.sequential):
        st.plotly_chart(
            charts.cumulative_effect_chart(r.analysis.sequential, metric=metric),
            width="stretch",
            key="cumulative",
        )
    users = r.analysis.summary()["users"]
    st.caption(
        f"{r.analysis.table.source}: "
        + ", ".join(f"{k} {v:,}" for k, v in users.items())
        + " users. Chance to win: the posterior probability, given the data and the prior, "
        "that the treatment's true mean is above the control's — not a p-value."
    )
