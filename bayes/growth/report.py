"""Demo section for seed 004's retention and LTV: cohorts, survival, seasonality, Bayesian LTV."""

from __future__ import annotations

from bayes.report import Section


def demo_section(ctx) -> Section:
    """Generate growth data; retention matrix, Kaplan-Meier by cohort, seasonality; fit
    BG/NBD + Gamma-Gamma with the seed's 60-day holdout and the survival/GLM path beside it."""
    from bayes.growth.cohorts import plot_retention, retention_curve, retention_matrix
    from bayes.growth.data import generate_growth_data, write_growth_data
    from bayes.growth.survival import (
        activity_lifetimes,
        plot_seasonality,
        plot_survival,
        seasonality,
        survival_at,
        survival_by_cohort,
    )
    from bayes.io import save_figure
    from bayes.ltv.data import load_transactions
    from bayes.ltv.evaluate import binned_holdout
    from bayes.ltv.workflow import (
        headline,
        prepare_rfm,
        run_ltv,
        trajectories_text,
        write_ltv,
    )
    from models.sampling import SamplerConfig

    quick = ctx.quick
    n_users = 3000 if quick else 20_000
    data = generate_growth_data(n_users, seed=ctx.seed)
    paths = write_growth_data(data, ctx.data / "growth")
    sec = Section(
        "Growth: retention, survival and Bayesian LTV (seed 004)",
        "Synthetic users/events/orders whose purchases follow a known BG/NBD + Gamma-Gamma "
        "truth; weekly cohort retention; Kaplan-Meier survival by signup month; seasonality; "
        "Bayesian LTV evaluated on the seed's 60-day holdout.",
        reference="seed 004, Methods: Cohorts & retention, LTV; Limitations & Next Steps",
    )
    sec.metrics(
        {"users": len(data.users), "events": len(data.events), "orders": len(data.orders)},
        "generated data (files in data/growth)",
    )

    m = retention_matrix(data.users, data.events, max_weeks=8)
    fig = save_figure(plot_retention(m), ctx.figures / "growth_retention.png")
    sec.figure(fig, "weekly retention by signup cohort", report_dir=ctx.outdir)
    seg = retention_matrix(data.users, data.events, segment="acq_channel", max_weeks=8)
    curve = retention_curve(seg, "acq_channel").pivot(
        index="week", columns="acq_channel", values="retention"
    )
    sec.table(
        curve.reset_index(),
        "retention by acquisition channel (cohort-size weighted)",
        csv_path=ctx.tables / "growth_retention_by_channel.csv",
        report_dir=ctx.outdir,
    )

    km = survival_by_cohort(activity_lifetimes(data.users, data.events, churn_days=28))
    fig = save_figure(plot_survival(km), ctx.figures / "growth_survival.png")
    sec.figure(
        fig,
        "Kaplan-Meier survival by signup month (churn: 28 days without a session; 90% "
        "Greenwood log-log intervals)",
        report_dir=ctx.outdir,
    )
    sec.table(
        survival_at(km, days=(7, 30, 90)),
        "share of users still active 7, 30 and 90 days after signup, with 90% intervals",
        csv_path=ctx.tables / "growth_survival_at.csv",
        report_dir=ctx.outdir,
    )
    weekly = seasonality(data.orders, by="weekday")
    fig = save_figure(plot_seasonality(weekly), ctx.figures / "growth_seasonality.png")
    sec.figure(
        fig,
        f"repeat orders per customer-week by weekday (chi-square p = "
        f"{weekly.attrs['p_value']:.3g}: the generator has no weekly pattern)",
        report_dir=ctx.outdir,
    )

    sampler = SamplerConfig(draws=300, tune=300, chains=2, seed=ctx.seed) if quick else None
    sampler = sampler or SamplerConfig(seed=ctx.seed)
    prepared = prepare_rfm(
        transactions=load_transactions(paths["orders"]), holdout_days=60, time_unit="W"
    )
    run = run_ltv(
        prepared,
        sampler=sampler,
        predict_draws=200 if quick else 500,
        source={"path": "data/growth/orders.csv"},
    )
    run.summary["headline"] = sec.headline = headline(run)
    write_ltv(run, ctx.outdir / "ltv")
    run.model.save(ctx.posteriors / "growth_ltv.nc")
    params = run.parameters.drop(columns=["prior", "coords"])
    truth = {**data.truth.bgnbd, **data.truth.gamma_gamma}
    params.insert(1, "truth", params["variable"].map(truth))
    sec.table(
        params,
        "posterior (90% intervals) vs the generator's truth and lifetimes' MLE",
        csv_path=ctx.tables / "growth_ltv_parameters.csv",
        report_dir=ctx.outdir,
    )
    d = run.summary["diagnostics"]
    h = run.summary["holdout"]
    sec.metrics(
        {
            "diagnostics": "ok" if d["ok"] else "FAILED: " + "; ".join(d["problems"]),
            "NUTS trajectories": trajectories_text(run.summary),
            "holdout": f"{h['calibration_end']} .. {h['holdout_end']} (60 days)",
            "holdout MAPE (customers with purchases)": h["mape_customer"],
            "holdout WMAPE (customers)": h["wmape_customer"],
            "holdout WMAPE (frequency bins)": h["wmape_aggregate_bins"],
            "holdout total APE": h["ape_total"],
        },
        "LTV fit and the seed's 60-day holdout evaluation",
    )
    if run.comparison is not None:
        sec.table(
            run.comparison[
                ["method", "mape_customer", "wmape_customer", "wmape_aggregate_bins", "ape_total"]
            ],
            "BG/NBD vs the seed's survival/GLM path on the same holdout",
        )
    sec.figure(
        ctx.outdir / "ltv" / "holdout.png",
        "holdout purchases: predicted vs actual",
        report_dir=ctx.outdir,
    )
    sec.table(binned_holdout(run.holdout), "holdout by calibration frequency")
    sec.figure(
        ctx.outdir / "ltv" / "p_alive_matrix.png",
        "P(alive) over frequency x recency (posterior mean)",
        report_dir=ctx.outdir,
    )
    cols = ["frequency", "recency", "T", "p_alive_mean", "ltv_12m_mean"]
    cols += ["ltv_12m_lower_90", "ltv_12m_upper_90"]
    top = run.table.sort_values("ltv_12m_mean", ascending=False).head(10).reset_index()
    sec.table(
        top[["customer_id", *cols]],
        "top customers by 12-month LTV (90% intervals); full table in ltv/ltv.csv",
    )
    sec.file("posterior", ctx.posteriors / "growth_ltv.nc")
    sec.summary["ltv_per_customer"] = run.summary["per_customer"]
    sec.summary["ltv_totals"] = run.summary["totals"]
    return sec
