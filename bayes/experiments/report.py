"""Demo / report section of the experiments domain (seed 004: plan & evaluate experiments).

The section plans an experiment (power, Bayesian sizing), runs the updating loop — the prior for
the lift learned from a library of past experiments, the readout, the library updated with the
new lift — and shows the guards (a sample-ratio fault caught, always-valid bands).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes.report import Section

__all__ = ["demo_section"]


def demo_section(ctx) -> Section:
    """Generate an experiment and past experiments; plan, read out, update, guard."""
    from bayes.experiments.analyze import analyze, fit_library
    from bayes.experiments.data import (
        PAST_EXPERIMENTS,
        ExperimentTruth,
        generate_experiment,
        generate_library,
        write_experiment,
    )
    from bayes.experiments.plots import (
        plot_cumulative_effect,
        plot_lift_posterior,
        plot_power_curve,
    )
    from bayes.io import save_figure, write_table
    from models.experiments.power import power_curve, power_proportions
    from models.experiments.sizing import bayesian_sizing, users_for_expected_loss
    from models.sampling import SamplerConfig

    quick = ctx.quick
    n_users = 30_000 if quick else 200_000
    nuts = (
        SamplerConfig(draws=1000, tune=500, chains=2, seed=ctx.seed, progress=False)
        if quick
        else SamplerConfig(draws=1000, tune=1000, chains=4, seed=ctx.seed, progress=False)
    )
    data = generate_experiment(n_users, seed=ctx.seed)
    folder = ctx.data / "experiments"
    write_experiment(data, folder)
    past = generate_library(PAST_EXPERIMENTS, seed=ctx.seed)
    write_table(past.drop(columns="true_lift"), folder / "past_experiments.csv")
    rel_src = "data/experiments/experiment.csv"

    sec = Section(
        "Experiments: power, CUPED and a Bayesian readout that updates the priors (seed 004)",
        "An A/B test of a checkout change on the growth users: the lift differs by device "
        "(+8% iOS, +4% Android, 0 web), the pre-period revenue is the CUPED covariate, and the "
        f"prior for the lift is learned from {PAST_EXPERIMENTS} past experiments and updated by "
        "this one.",
        reference="seed 004 'Plan & evaluate experiments'; Deng et al. 2013; Lin 2013",
    )

    # -------------------------------------------------------------- the updating loop
    library = fit_library(
        past.drop(columns="true_lift"),
        source="data/experiments/past_experiments.csv",
        sampler=nuts,
    )
    library.save(ctx.posteriors / "experiments_library.nc")
    res = analyze(
        data.frame,
        arm="arm",
        metrics=["revenue", "converted"],
        covariates=["pre_revenue"],
        time="exposed_ts",
        library=library,
        experiment_name="checkout-2024-09",
        sampler=nuts,
        source_label=rel_src,
    )
    sec.headline = res.headline
    sec.text(res.headline)
    res.models["lift"].save(ctx.posteriors / "experiments_readout.nc")
    updated = res.models["library"]
    updated.save(ctx.posteriors / "experiments_library_updated.nc")
    truth = data.truth
    sec.metrics(
        {
            "users (control / treatment)": f"{res.moments.n[0]:,} / {res.moments.n[1]:,}",
            "sample-ratio check": res.srm["message"],
            "true relative lift of revenue": f"{truth['relative_lift']['revenue']:+.2%}",
            "prior for the lift (library predictive)": str(library.next_lift_prior()),
            "prior after this experiment joins the library": str(updated.next_lift_prior()),
            "library diagnostics": str(library.diagnostics_),
            "CUPED variance reduction (revenue)": f"{res.estimates[0].details['variance_reduction']:.1%}",
            "pre/post correlation squared (revenue)": f"{res.estimates[0].details['rho2']:.3f}",
        },
        "the readout and the updating loop",
    )
    est = res.estimates_table()
    cols = [
        "metric",
        "method",
        "difference",
        "lower_90",
        "upper_90",
        "relative",
        "relative_lower_90",
        "relative_upper_90",
        "p_value",
        "p_holm",
        "p_bh",
    ]
    sec.table(
        est[cols],
        "frequentist readout: plain and CUPED, Holm and BH across the two "
        "metrics (90% confidence intervals)",
        csv_path=ctx.tables / "experiments_estimates.csv",
        report_dir=ctx.outdir,
    )
    rows = []
    for r in res.readouts:
        rows.append(
            {
                "metric": r["metric"],
                "relative lift (mean)": r["relative_lift"]["mean"],
                "lower_90": r["relative_lift"]["lower_90"],
                "upper_90": r["relative_lift"]["upper_90"],
                "chance to win": r["chance_to_win"],
                "expected loss if shipped": r["expected_loss_relative"]["choose_treatment"],
                "expected loss if kept": r["expected_loss_relative"]["choose_control"],
            }
        )
    sec.table(
        pd.DataFrame(rows),
        "Bayesian readout with the library prior (90% credible "
        "intervals; chance to win = P(treatment better | data, prior), not a p-value; "
        "losses as a share of the control mean)",
    )
    fig, _ = plot_lift_posterior(
        res.models["lift"].predict()["relative_lift"].sel(outcome="revenue").values,
        prior=res.models["lift"].priors_["relative_lift"],
        metric="revenue",
    )
    sec.figure(
        save_figure(fig, ctx.figures / "experiments_lift.png"),
        "posterior of revenue's relative lift under the library prior",
        report_dir=ctx.outdir,
    )
    fig, _ = plot_cumulative_effect(
        res.sequential, truth=truth["expected_ate"]["revenue"], metric="revenue"
    )
    sec.figure(
        save_figure(fig, ctx.figures / "experiments_cumulative.png"),
        "cumulative effect on revenue per user: a daily peek needs the always-valid band",
        report_dir=ctx.outdir,
    )

    # -------------------------------------------------------------- conversion, exact
    conv = analyze(data.frame, arm="arm", metrics=["converted"], sampler=nuts, source_label=rel_src)
    model = conv.models["conversion_converted"]
    model.save(ctx.posteriors / "experiments_conversion.nc")
    r = conv.readouts[0]
    sec.metrics(
        {
            "conversion control / treatment": " / ".join(
                f"{v:.4f}" for v in r["conversion_rate"].values()
            ),
            "chance to win (exact Beta-Binomial)": f"{r['chance_to_win']:.3f}",
            "relative lift, 90% credible interval": f"{r['relative_lift']['lower_90']:+.2%} to {r['relative_lift']['upper_90']:+.2%}",
            "decision": conv.headline,
        },
        "conversion, read out by the exact Beta-Binomial model (Beta(1, 1) priors)",
    )

    # -------------------------------------------------------------- planning
    p = conv.moments.mean[0, 0]
    rho2 = res.estimates[0].details["rho2"]
    plans = []
    for mde in (0.05, 0.10):
        for vf, label in ((1.0, "plain"), (1 - rho2, "CUPED")):
            pr = power_proportions(
                round(p, 4), mde=mde, relative=True, power=0.8, variance_factor=vf
            )
            plans.append(
                {
                    "relative MDE": mde,
                    "analysis": label,
                    "variance factor": vf,
                    "users per arm": pr.users_per_arm[0],
                    "convention": "pooled (power.prop.test)",
                }
            )
    sec.table(
        pd.DataFrame(plans),
        f"users per arm for 80% power at α = 0.05 (two-sided), "
        f"baseline conversion {p:.4f}; CUPED's factor 1 − ρ² uses ρ² of revenue, as an illustration",
    )
    pr = power_proportions(round(p, 4), mde=0.10, relative=True, power=0.8)
    fig, _ = plot_power_curve(power_curve(pr), result=pr)
    sec.figure(
        save_figure(fig, ctx.figures / "experiments_power.png"),
        "power curve for a +10% relative lift in conversion",
        report_dir=ctx.outdir,
    )
    prior = library.next_lift_prior()
    mu0, sd0 = prior.params["mu"], prior.params["sigma"]
    cv = float(np.sqrt(conv.moments.var("converted")[0]) / p)
    sizing = bayesian_sizing(mu0, sd0, cv=cv, sizes=(5_000, 20_000, 100_000, 500_000))
    n_star = users_for_expected_loss(mu0, sd0, 0.001, cv=cv)
    sec.table(
        sizing,
        f"Bayesian sizing for conversion under the library prior {prior}: expected "
        f"loss of the ship/keep decision after n users per arm (share of the control "
        f"mean) and EVSI; an expected loss below 0.1% needs {n_star:,} users per arm",
        csv_path=ctx.tables / "experiments_sizing.csv",
        report_dir=ctx.outdir,
    )

    # -------------------------------------------------------------- the SRM guard
    faulty = generate_experiment(n_users, seed=ctx.seed, truth=ExperimentTruth(srm=0.3))
    bad = analyze(
        faulty.frame, arm="arm", metrics=["revenue"], covariates=["pre_revenue"], method="cuped"
    )
    sec.text(
        "Guard: the same experiment with a logging fault that loses 30% of the treatment's "
        f"web users. {bad.srm['message']}. Decision: {bad.headline}"
    )
    sec.summary["decision"] = res.decision
    return sec
