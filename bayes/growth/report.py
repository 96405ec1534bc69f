"""Demo section for the growth domain (seed 004): data, cohort retention, Bayesian LTV."""

from __future__ import annotations

import pandas as pd

from bayes import headlines
from bayes.report import Section


def demo_section(ctx) -> Section:
    """Generate growth data, build the retention matrix, fit BG/NBD + Gamma-Gamma with a holdout."""
    from bayes.growth.cohorts import plot_retention, retention_curve, retention_matrix
    from bayes.growth.data import generate_growth_data, write_growth_data
    from bayes.growth.ltv import binned_holdout, load_transactions, parameter_table, run_ltv
    from bayes.io import save_figure, write_netcdf

    quick = ctx.quick
    n_users = 3000 if quick else 20_000
    data = generate_growth_data(n_users, seed=ctx.seed)
    paths = write_growth_data(data, ctx.data / "growth")
    sec = Section(
        "Growth: cohort retention and Bayesian LTV (seed 004)",
        "Seed 004: synthetic users/events/orders with purchases from a known BG/NBD + "
        "Gamma-Gamma truth; weekly cohort retention; Bayesian LTV with a 12-week holdout.",
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

    end = data.observation_end.tz_localize(None)
    cal_end = (end - pd.Timedelta(weeks=12)).date().isoformat()
    draws = dict(draws=300, tune=300, chains=2) if quick else {}
    res = run_ltv(
        transactions=load_transactions(paths["orders"]),
        calibration_end=cal_end,
        holdout_end=end.date().isoformat(),
        out=ctx.outdir / "ltv",
        seed=ctx.seed,
        n_draws=200 if quick else 500,
        **draws,
    )
    fit = res["_fit"]
    write_netcdf(fit.idata, ctx.posteriors / "growth_ltv.nc")
    params = parameter_table(fit).drop(columns=["prior"])
    truth = {**data.truth.bgnbd, **data.truth.gamma_gamma}
    params.insert(1, "truth", params["parameter"].map(truth))
    sec.table(
        params,
        "posterior (90% intervals) vs the generator's truth and lifetimes' MLE",
        csv_path=ctx.tables / "growth_ltv_parameters.csv",
        report_dir=ctx.outdir,
    )
    d = res["diagnostics"]
    h = res["holdout"]
    sec.metrics(
        {
            "diagnostics ok": d["ok"],
            "r-hat max": d["r_hat_max"],
            "bulk ESS min": d["ess_bulk_min"],
            "divergences": d["divergences"],
            "holdout MAPE (customers with purchases)": h["mape_customer"],
            "holdout WMAPE (customers)": h["wmape_customer"],
            "holdout WMAPE (frequency bins)": h["wmape_aggregate_bins"],
            "holdout total APE": h["ape_total"],
            "12-month LTV, all customers": res["totals"].get("ltv_12m_mean"),
        },
        "LTV fit and holdout evaluation",
    )
    sec.figure(
        ctx.outdir / "ltv" / "holdout.png",
        "holdout purchases: predicted vs actual",
        report_dir=ctx.outdir,
    )
    sec.table(binned_holdout(res["_holdout"]), "holdout by calibration frequency")
    top = res["_table"].sort_values("ltv_12m_mean", ascending=False).head(10).reset_index()
    sec.table(
        top[
            [
                "customer_id",
                "frequency",
                "recency",
                "T",
                "p_alive_mean",
                "ltv_12m_mean",
                "ltv_12m_lo",
                "ltv_12m_hi",
            ]
        ],
        "top customers by 12-month LTV (90% intervals); full table in ltv/ltv.csv",
    )
    sec.file("posterior", ctx.posteriors / "growth_ltv.nc")
    sec.headline = headlines.ltv_total(res["totals"], res["customers"], holdout=h)
    return sec
