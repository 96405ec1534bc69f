"""Demo section: updating the video priors after a pilot (seed 000 §9–§11).

A pilot of seed §11 Phase 0 (clusters 0 and 2, three arms) is generated at true
(α, β) = (1.1, 1.05) — a standalone app slightly better than our prior table — and the priors
are updated with NUTS. The section shows α̂ and β̂, the prior-vs-posterior plot, the posterior
predictive check, (α̂, β̂) on the sensitivity heatmap, the decision under the posterior and a
small pilot-sizing (EVSI) table. The posterior is saved into ``ctx.posteriors``.
"""

from __future__ import annotations

from bayes import charts, headlines
from bayes.report import Section

TRUE_ALPHA, TRUE_BETA = 1.1, 1.05
#: (users per arm, draws, tune, chains, sizing sims): quick vs full
QUICK = (3000, 200, 200, 2, 60)
FULL = (5000, 1000, 1000, 4, 400)


def demo_section(ctx) -> Section:
    from bayes.io import save_figure, write_json, write_table
    from bayes.video.data import generate_pilot, validate_pilot
    from bayes.video.decide import alpha_beta_table, decision_table, ppc_table, update
    from bayes.video.plots import plot_heatmap_posterior, plot_ppc, plot_prior_posterior
    from bayes.video.sizing import pilot_sizing
    from models.sampling import SamplerConfig
    from priors.video import VideoPriors

    users, draws, tune, chains, sims = QUICK if ctx.quick else FULL
    priors = VideoPriors()
    sec = Section(
        "Video: updating after a pilot (seed 000 §11)",
        "Seed §11: run a pilot, estimate (α̂, β̂), place it on the sensitivity heatmap and "
        "decide again — here with the full posterior of every prior quantity.",
    )
    pilot = validate_pilot(
        generate_pilot(TRUE_ALPHA, TRUE_BETA, users, ctx.seed), source="demo pilot"
    )
    pilot_path = write_table(pilot, ctx.data / "video_pilot.csv")
    sec.text(
        f"Pilot: clusters 0 and 2 (seed §11 Phase 0), {users:,} users per arm (control, "
        f"integrated, standalone), generated at true α = {TRUE_ALPHA}, β = {TRUE_BETA} with "
        "everything else at the prior's central values (bayes video pilot)."
    )
    sec.table(pilot, "Pilot counts", csv_path=ctx.tables / "video_pilot.csv", report_dir=ctx.outdir)
    # the report folder is staged and renamed at the end: record the pilot's path inside it
    rel = str(pilot_path.relative_to(ctx.outdir))
    res = update(
        pilot,
        priors,
        sampler=SamplerConfig(draws=draws, tune=tune, chains=chains, seed=ctx.seed),
        grid_draws=400 if ctx.quick else 2000,
        source=rel,
    )
    nc = res.model.save(ctx.posteriors / "video_update.nc")
    s = res.summary
    write_json(s, ctx.tables / "video_update_summary.json")
    sec.table(
        alpha_beta_table(s),
        "α̂ and β̂: posterior median, mean, central 50% (lower_50–upper_50) and 90% "
        "(lower_90–upper_90) intervals, with the prior's 90% interval",
        csv_path=ctx.tables / "video_alpha_beta.csv",
        report_dir=ctx.outdir,
    )
    f1 = save_figure(plot_prior_posterior(res.idata), ctx.figures / "video_prior_posterior.png")
    sec.figure(f1, "Prior vs posterior of α and β", report_dir=ctx.outdir)
    ppc = ppc_table(res.idata)
    f2 = save_figure(plot_ppc(res.idata, ppc), ctx.figures / "video_ppc.png")
    sec.figure(f2, "Posterior predictive check against the pilot counts", report_dir=ctx.outdir)
    sec.table(
        ppc,
        "Posterior predictive check (ppp: two-sided posterior predictive p-value)",
        csv_path=ctx.tables / "video_ppc.csv",
        report_dir=ctx.outdir,
    )
    f3 = save_figure(
        plot_heatmap_posterior(res.grid, *res.multiplier_draws),
        ctx.figures / "video_heatmap_posterior.png",
    )
    sec.figure(f3, "(α̂, β̂) with 50% and 90% regions on the heatmap", report_dir=ctx.outdir)
    sec.table(
        decision_table(res.decision),
        "Decision under the posterior: ΔCore on the high-engagement base of 24M (Core users)",
        csv_path=ctx.tables / "video_update_decision.csv",
        report_dir=ctx.outdir,
    )
    sec.metrics(
        {
            "P(standalone better)": s["p_standalone_better"],
            "expected loss if integrated": s["expected_loss"]["integrated"],
            "expected loss if standalone": s["expected_loss"]["standalone"],
            "recommendation (min expected loss)": s["recommendation"],
            "P(blue region of the heatmap)": s["rule_11"]["p_blue"],
            "§11 rule verdict": s["rule_11"]["verdict"],
            "r_hat_max": s["r_hat_max"],
            "ess_bulk_min": s["ess_bulk_min"],
            "divergences": s["divergences"],
            "diagnostics ok": s["ok"],
            "posterior file": nc.name,
        },
        "Decision and diagnostics",
    )
    sec.text(s["rule_11"]["text"])
    sizes = (500, 5000, 50_000) if ctx.quick else (500, 2000, 10_000, 50_000)
    sizing = pilot_sizing(priors, sizes=sizes, sims=sims, seed=ctx.seed)
    sec.table(
        sizing,
        f"Pilot sizing (prior predictive, {sims} truths per size; users per arm per segment, "
        "clusters 0 and 2): probability of the right choice, expected loss after the pilot "
        "and EVSI in Core users",
        csv_path=ctx.tables / "video_pilot_sizing.csv",
        report_dir=ctx.outdir,
    )
    sec.file("posterior", nc)
    sec.plotly(
        charts.sensitivity_heatmap(res.grid, *res.multiplier_draws),
        "Interactive: D(α, β) in thousand Core users with the posterior draws of (α, β); hover "
        "for values, drag to zoom",
    )
    sec.headline = headlines.video_update(s)
    return sec
