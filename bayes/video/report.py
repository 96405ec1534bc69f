"""Reports of the video domain: the demo section for the video strategy (seed 000 Part C,
§5–§10) and the files of an update (:func:`write_update`, ``bayes video update --out DIR``).

Reports, in order: the priors used; the seed preset (§8 reproduced: table, overlaid ΔCore
histograms and the difference); the Bayesian preset (parameter uncertainty from the PyMC prior,
exact population counts); weekly usage; the (α, β) sensitivity heatmap (§9).

If the Photos section ran first, its measured segments (``ctx.table("photos",
"photos_segments")``) are compared with the declared ones, but the headline numbers keep the *declared* priors
(:data:`priors.segments.SEGMENTS`), so that they stay comparable with the seed's §8 and do not
move with the synthetic sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes import headlines
from bayes.report import Section

#: files of an update folder (``bayes video update --out DIR``), name -> what it holds
UPDATE_FILES: dict[str, str] = {
    "posterior.nc": "the fitted VideoPilotModel (ArviZ NetCDF; bayes.load reopens it)",
    "summary.json": "α̂, β̂, the decision, the §11 rule, diagnostics, pilot and sampler",
    "priors.csv": "the prior review table in use",
    "alpha_beta.csv": "α̂ and β̂ with 50% and 90% intervals beside the prior's",
    "decision.csv": "ΔCore per mode and their difference under the posterior",
    "ppc.csv": "posterior predictive check per pilot count",
    "prior_posterior_alpha_beta.png": "prior vs posterior of α and β",
    "ppc.png": "posterior predictive check",
    "heatmap_posterior.png": "(α̂, β̂) on the sensitivity heatmap",
    "decision.png": "ΔCore under the posterior",
}


def write_update(result, folder) -> dict:
    """Write the files of :data:`UPDATE_FILES` for an :class:`bayes.video.decide.UpdateResult`
    into ``folder`` (the staging folder of a :class:`bayes.outputs.OutputFolder`). File names in
    ``summary.json`` are relative to the folder, so the same inputs and seed give the same
    bytes wherever it is written."""
    from pathlib import Path

    from bayes.io import save_figure, write_json, write_table
    from bayes.video.decide import alpha_beta_table, decision_table, ppc_table
    from bayes.video.plots import (
        plot_decision,
        plot_heatmap_posterior,
        plot_ppc,
        plot_prior_posterior,
    )

    out = Path(folder)
    idata = result.idata
    ppc = ppc_table(idata)
    files = {
        "posterior.nc": result.model.save(out / "posterior.nc"),
        "priors.csv": write_table(result.priors.summary(), out / "priors.csv"),
        "alpha_beta.csv": write_table(alpha_beta_table(result.summary), out / "alpha_beta.csv"),
        "decision.csv": write_table(decision_table(result.decision), out / "decision.csv"),
        "ppc.csv": write_table(ppc, out / "ppc.csv"),
        "prior_posterior_alpha_beta.png": save_figure(
            plot_prior_posterior(idata), out / "prior_posterior_alpha_beta.png"
        ),
        "ppc.png": save_figure(plot_ppc(idata, ppc), out / "ppc.png"),
        "heatmap_posterior.png": save_figure(
            plot_heatmap_posterior(result.grid, *result.multiplier_draws),
            out / "heatmap_posterior.png",
        ),
        "decision.png": save_figure(
            plot_decision(result.prediction, title="Decision under the posterior"),
            out / "decision.png",
        ),
    }
    result.summary["files"] = {name: UPDATE_FILES[name] for name in [*files, "summary.json"]}
    files["summary.json"] = write_json(result.summary, out / "summary.json")
    result.files = files
    return files


#: Monte Carlo sizes (runs) per mode: (quick, full)
SEED_DRAWS = (200, 2000)
BAYES_DRAWS = (1000, 10_000)
GRID_DRAWS = (200, 2000)


def segment_comparison(priors, measured: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Declared vs measured segment shares and baselines (one row per segment), and the
    closed-form mean ΔCore of each mode under either (point priors, seed §7.2)."""
    from models.video.simulator import closed_form_delta_core, point_params
    from priors.video import MODES

    other = priors.with_segments(measured)
    seg = priors.segments
    table = pd.DataFrame(
        {
            "segment": seg.index,
            "share declared": seg["share"].to_numpy(),
            "share measured": other.segments["share"].to_numpy(),
            "b_c declared": seg["baseline_core_90d"].to_numpy(),
            "b_c measured": other.segments["baseline_core_90d"].to_numpy(),
        }
    )
    closed = pd.DataFrame(
        {
            "mode": list(MODES),
            "E[ΔCore] declared segments": closed_form_delta_core(point_params(priors), priors)[0],
            "E[ΔCore] measured segments": closed_form_delta_core(point_params(other), other)[0],
        }
    )
    return table, closed


def demo_section(ctx) -> Section:
    from bayes.io import save_figure, write_json, write_table
    from bayes.video.decide import decision_table, simulation_summary, usage_table
    from bayes.video.plots import plot_decision, plot_sensitivity
    from bayes.video.sensitivity import sensitivity_grid
    from bayes.video.simulate import simulate
    from priors.video import VideoPriors

    q = 0 if ctx.quick else 1
    rd = ctx.outdir
    priors = VideoPriors()
    sec = Section(
        "Video strategy: integrated feed or standalone app",
        "Seed 000 Part C: priors declared once (priors/video_priors.csv, PyMC model with "
        "segment and mode coords), simulated forward on the 24M active base with common "
        "random numbers; ΔCore = incremental Core_90d users on the high-engagement base "
        f"N_high = {priors.n_high:,} (clusters 0, 2, 3).",
    )
    sec.table(
        priors.summary(),
        "Priors (Bayesian preset; the seed preset uses the table's values as fixed values)",
        csv_path=ctx.tables / "video_priors_summary.csv",
        report_dir=rd,
    )

    # --- seed preset (§8)
    seed_ds = simulate(priors, preset="seed", draws=SEED_DRAWS[q], seed=ctx.seed)
    seed_sum = simulation_summary(seed_ds, priors.as_point())
    write_json(seed_sum, ctx.tables / "video_seed_preset.json")
    sec.text(
        f"Seed preset: fixed priors, {seed_ds.attrs['n_sim']:,} simulated users per run scaled "
        f"to N_high, {SEED_DRAWS[q]:,} runs (the seed's §7). The spread is the simulation "
        "noise of the Core rate of N_sim users; N_sim is chosen so that it matches the seed's "
        "p5–p95 (224k–391k integrated)."
    )
    sec.table(
        decision_table(seed_sum, 1e3),
        "Seed preset: ΔCore in thousands (seed §8: integrated ≈ 306k [224k, 391k], "
        "standalone ≈ 248k [168k, 336k], difference ≈ −58k, P(standalone wins) ≈ 0; "
        "lower_90/upper_90 = the seed's p5/p95)",
        csv_path=ctx.tables / "video_seed_preset.csv",
        report_dir=rd,
    )
    fig = plot_decision(seed_ds, title="Seed preset (fixed priors, per-user Monte Carlo)")
    sec.figure(
        save_figure(fig, ctx.figures / "video_seed_delta_core.png"),
        "ΔCore by mode (overlaid) and the difference standalone − integrated, seed preset",
        report_dir=rd,
    )

    # --- Bayesian preset
    bayes_ds = simulate(priors, preset="bayes", draws=BAYES_DRAWS[q], seed=ctx.seed)
    bayes_sum = simulation_summary(bayes_ds, priors)
    write_json(bayes_sum, ctx.tables / "video_bayes_preset.json")
    sec.text(
        f"Bayesian preset: {BAYES_DRAWS[q]:,} parameter draws from the PyMC prior (adoption, "
        "sessions, minutes, uplift, baselines and the standalone multipliers α, β uncertain), "
        "the whole high-engagement population simulated exactly by binomial counts. The spread "
        "is what we do not know, not simulation noise: "
        f"P(standalone better) = {bayes_sum['difference']['p_standalone_better']:.2f}; the "
        f"expected loss of choosing integrated is {bayes_sum['expected_loss']['integrated']:,.0f}"
        f" Core users against {bayes_sum['expected_loss']['standalone']:,.0f} for standalone, "
        f"so the recommendation is {bayes_sum['recommendation']}."
    )
    sec.table(
        decision_table(bayes_sum, 1e3),
        "Bayesian preset: ΔCore in thousands, with each choice's expected loss",
        csv_path=ctx.tables / "video_bayes_preset.csv",
        report_dir=rd,
    )
    fig = plot_decision(bayes_ds, title="Bayesian preset (prior draws, exact population)")
    sec.figure(
        save_figure(fig, ctx.figures / "video_bayes_delta_core.png"),
        "ΔCore by mode and the difference under parameter uncertainty",
        report_dir=rd,
    )
    sec.table(
        usage_table(bayes_sum),
        "Weekly video usage of adopters on the high-engagement base (Bayesian preset): "
        "mean and 90% interval",
        csv_path=ctx.tables / "video_usage.csv",
        report_dir=rd,
    )

    # --- sensitivity (§9)
    grid = sensitivity_grid(priors, draws=GRID_DRAWS[q], seed=ctx.seed, preset="seed")
    write_table(grid.to_dataframe().reset_index(), ctx.tables / "video_sensitivity.csv")
    fig = plot_sensitivity(grid)
    sec.figure(
        save_figure(fig, ctx.figures / "video_sensitivity.png"),
        "D(α, β) = mean ΔCore_stand(α, β) − mean ΔCore_int over standalone adoption (α) and "
        "uplift (β) multipliers; red: integrated wins, blue: standalone wins; black: D = 0",
        report_dir=rd,
    )
    d = grid.sel
    sec.metrics(
        {
            "D(1, 1)": d(alpha=1.0, beta=1.0).item(),
            "D(1.2, 1)": d(alpha=1.2, beta=1.0).item(),
            "D(1, 1.2)": d(alpha=1.0, beta=1.2).item(),
            "D(1.5, 1.4)": d(alpha=1.5, beta=1.4).item(),
            "largest Monte Carlo se of a cell": grid.attrs["mc_se_max"],
        },
        caption=f"Seed §9.1 checkpoints ({GRID_DRAWS[q]:,} runs per cell, common random numbers)",
    )

    measured = ctx.table("photos", "photos_segments")
    if measured is not None:
        try:
            comp, closed = segment_comparison(priors, measured)
        except (KeyError, TypeError, ValueError) as exc:  # never break the demo on it
            sec.text(f"Measured Photos segments could not be compared: {exc}")
        else:
            sec.table(
                comp,
                "Declared segments (used for the headline numbers) vs those measured by the "
                "Photos section",
                csv_path=ctx.tables / "video_segments_vs_photos.csv",
                report_dir=rd,
            )
            sec.table(
                closed,
                "Closed-form mean ΔCore (point priors) under the declared and the measured "
                "segments",
                report_dir=rd,
            )
    sec.metrics(
        {
            "seed preset: integrated mean": seed_sum["integrated"]["mean"],
            "seed preset: difference mean": seed_sum["difference"]["mean"],
            "bayes preset: P(standalone better)": bayes_sum["difference"]["p_standalone_better"],
            "recommendation": bayes_sum["recommendation"],
            "standalone breaks even at αβ ≈": float(
                np.round(seed_sum["integrated"]["mean"] / seed_sum["standalone"]["mean"], 2)
            ),
        },
        caption="Headline",
    )
    sec.headline = headlines.video_decision(bayes_sum)
    return sec
