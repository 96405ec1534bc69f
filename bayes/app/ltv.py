"""Customer LTV page: look a customer up — P(alive), expected purchases, expected spend and
6/12-month LTV with 90% intervals from the BG/NBD + Gamma-Gamma posterior — and the weekly
cohort retention heatmap (seed 004)."""

import streamlit as st

from bayes import charts
from bayes.app import data as appdata
from bayes.app.ui import stop_on_input_error
from bayes.formatting import fmt_interval, fmt_number

st.title("Customer lifetime value")
st.caption(
    "Seed 004 · BG/NBD + Gamma-Gamma fitted by NUTS, per-customer predictions with 90% "
    "intervals, weekly cohort retention · every number from bayes.ltv and bayes.growth"
)


@st.cache_resource(show_spinner=False, max_entries=4)
def model(orders: str, digest: str, draws: int, seed: int):
    return appdata.ltv_model(orders, draws=draws, tune=draws, seed=seed)


@st.cache_data(show_spinner=False, max_entries=16)
def retention(users: str, events: str, digest: str, segment: str | None, weeks: int):
    from bayes.growth.cohorts import retention_matrix
    from bayes.growth.data import read_events, read_users

    return retention_matrix(
        read_users(users), read_events(events), segment=segment, max_weeks=weeks
    )


with st.sidebar:
    st.header("Data")
    source = st.radio(
        "Inputs",
        ["demo", "upload"],
        format_func=lambda s: {"demo": "demo growth data (generated)", "upload": "upload"}[s],
        key="ltv_source",
    )
    paths: dict = {}
    if source == "upload":
        od = st.file_uploader(
            "orders / transactions (customer_id or user_id, date or order_ts, amount)",
            type=["csv", "parquet"],
            key="orders",
        )
        us = st.file_uploader("users (for cohorts, optional)", type=["csv", "parquet"], key="users")
        ev = st.file_uploader(
            "events (for cohorts, optional)", type=["csv", "parquet"], key="events"
        )
        for name, f in (("orders", od), ("users", us), ("events", ev)):
            if f is not None:
                paths[name] = appdata.save_upload(f.name, f.getvalue())
    else:
        with st.spinner("Generating the demo data (first use only)…"):
            paths = appdata.demo_growth()
    st.header("Model")
    draws = st.select_slider(
        "NUTS draws per chain (2 chains)", [200, 300, 500, 1000, 2000], appdata.LTV_FIT["draws"],
        key="ltv_draws",
    )  # fmt: skip
    horizon = st.slider("purchases over the next (weeks)", 4, 104, 26, key="horizon")
    discount = st.slider("monthly discount rate (%)", 0.0, 5.0, 1.0, step=0.25, key="discount")

from bayes.tracking import sha256_file  # noqa: E402

tab_ltv, tab_cohorts = st.tabs(["Customer lookup", "Cohort retention"])

with tab_ltv:
    if "orders" not in paths:
        st.info("Upload an orders table in the sidebar.")
    else:
        with stop_on_input_error():
            with st.spinner("Fitting BG/NBD + Gamma-Gamma (NUTS; cached after the first fit)…"):
                fit, summary = model(
                    str(paths["orders"]), sha256_file(paths["orders"]), int(draws), 0
                )
        if not fit.diagnostics_.ok:
            st.warning(
                "The posterior failed its convergence checks: "
                + "; ".join(fit.diagnostics_.problems),
                icon=":material/warning:",
            )
        buyers = summary.sort_values(["frequency", "monetary_value"], ascending=False)
        st.caption(
            f"{len(summary):,} customers, {int((summary['frequency'] > 0).sum()):,} with repeat "
            "purchases; time unit: week."
        )
        customer = st.selectbox(
            "customer_id (sorted by repeat purchases)", buyers.index.tolist(), key="customer"
        )
        table = appdata.customer_ltv(
            fit, summary, customer, horizon_weeks=float(horizon), discount_rate=discount / 100
        )
        rfm = summary.loc[customer]
        st.markdown(
            f"Customer **{customer}**: {int(rfm['frequency'])} repeat purchase(s), last one "
            f"{fmt_number(float(rfm['recency']), 1)} weeks after the first, observed for "
            f"{fmt_number(float(rfm['T']), 1)} weeks; average order "
            f"{fmt_number(float(rfm.get('monetary_value', float('nan'))), 2)}."
        )
        cols = st.columns(len(table))
        for col, (_, r) in zip(cols, table.iterrows(), strict=True):
            pct = r["quantity"] == "P(alive)"
            value = f"{fmt_number(100 * r['mean'], 0)}%" if pct else fmt_number(r["mean"], 2)
            band = (
                fmt_interval(100 * r["lower"], 100 * r["upper"], fmt=fmt_number, decimals=0)
                if pct
                else fmt_interval(r["lower"], r["upper"], fmt=fmt_number, decimals=2)
            )
            col.metric(r["quantity"], value, help=f"90% interval {band}")
            col.caption(f"90%: {band}")
        st.caption(
            f"Expected purchases over the next {horizon} weeks; LTV discounted at "
            f"{discount:g}% a month; 90% posterior intervals."
        )
        money = table[table["quantity"].str.contains("LTV|spend")]
        st.plotly_chart(
            charts.interval_chart(
                money.rename(columns={"quantity": "label"}),
                title="Posterior mean and 90% interval (currency units)",
            ),
            width="stretch",
            key="ltv_intervals",
        )

with tab_cohorts:
    if not {"users", "events"} <= set(paths):
        st.info("Cohorts need a users and an events table (upload both in the sidebar).")
    else:
        c1, c2 = st.columns(2)
        segment = c1.selectbox(
            "one block per", ["(none)", "country", "device", "acq_channel"], key="segment"
        )
        weeks = c2.slider("weeks since signup", 4, 26, 12, key="weeks")
        with stop_on_input_error():
            digest = sha256_file(paths["users"])[:16] + sha256_file(paths["events"])[:16]
            m = retention(
                str(paths["users"]),
                str(paths["events"]),
                digest,
                None if segment == "(none)" else segment,
                int(weeks),
            )
        st.plotly_chart(charts.retention_heatmap(m), width="stretch", key="retention")
        from bayes.growth.cohorts import retention_curve

        seg = None if segment == "(none)" else segment
        curve = retention_curve(m, seg)
        st.caption(
            f"{len(m):,} cohorts, {int(m['cohort_size'].sum()):,} users. Blank cells: weeks not "
            "yet observed for every member of the cohort. Below: retention by week, weighted by "
            "cohort size over the cohorts observed that week."
        )
        wide = curve.pivot(index="week", columns=seg, values="retention") if seg else curve
        st.dataframe(wide, width="stretch")
