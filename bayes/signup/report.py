"""Demo section and plots for the signup domain (seed 003)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from bayes import headlines
from bayes.report import Section
from priors.signup import STAGES

__all__ = ["demo_section", "plot_concentrations", "topic_posterior_table"]


def topic_posterior_table(model, topic_truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per topic and stage: posterior mean and 90% interval of ``mu`` and ``kappa`` (and the
    truth when known), beside the seed's fixed ``kappa = 2``."""
    post = model.idata_.posterior
    truth = None if topic_truth is None else topic_truth.set_index("topic")
    rows = []
    for stage in STAGES:
        for topic in post.topic.values:
            row = {"stage": stage, "topic": str(topic)}
            for p in ("mu", "kappa"):
                v = post[f"{stage}_{p}"].sel(topic=topic).values.ravel()
                row[f"{p}_mean"] = float(v.mean())
                row[f"{p}_q05"], row[f"{p}_q95"] = (float(q) for q in np.quantile(v, [0.05, 0.95]))
                if truth is not None:
                    row[f"{p}_true"] = float(truth.loc[str(topic), f"{p}_{stage}"])
            rows.append(row)
    return pd.DataFrame(rows)


def plot_concentrations(table: pd.DataFrame):
    """Posterior 90% intervals of the concentration ``kappa`` per topic and stage, the truth
    (when known) and the seed's ``kappa = 2``."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=False)
    for ax, stage in zip(axes, STAGES, strict=True):
        t = table[table["stage"] == stage].reset_index(drop=True)
        y = np.arange(len(t))
        ax.hlines(y, t["kappa_q05"], t["kappa_q95"], color="C0", lw=3, label="90% posterior")
        ax.plot(t["kappa_mean"], y, "o", color="C0")
        if "kappa_true" in t:
            ax.plot(t["kappa_true"], y, "kx", ms=8, label="truth")
        ax.axvline(2.0, color="C3", ls="--", label="seed: kappa = 2")
        ax.set_xscale("log")
        ax.set_yticks(y, t["topic"])
        ax.set_xlabel("concentration kappa (log scale)")
        ax.set_title({"click": "click per send", "sc": "signup given click"}[stage])
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def demo_section(ctx) -> Section:
    """Generate data, score an audience with the seed's EB and the hierarchical model, compare
    both in a backtest, and write tables, a figure and the NetCDF posterior."""
    from bayes.io import data_hash, save_figure
    from bayes.signup.audience import (
        AudienceRules,
        check_model,
        score,
        write_audience,
        write_posterior,
    )
    from bayes.signup.backtest import backtest
    from bayes.signup.data import load_inputs
    from bayes.signup.generate import generate_signup_data, write_signup_data
    from models.sampling import default_cores
    from models.signup import HierarchicalSignupModel

    quick = ctx.quick
    n_rec, n_topics = (1500, 4) if quick else (20000, 6)
    draws = 200 if quick else 1000
    data = generate_signup_data(n_rec, n_topics, seed=ctx.seed)
    paths = write_signup_data(data, ctx.data / "signup")
    rules = AudienceRules(goal="new", top_n=200 if quick else 2000)
    eb = score(paths["events"], paths["campaigns"], paths["signups"], rules=rules)
    write_audience(eb.audience, ctx.tables / "signup_audience_eb.csv")
    cores = default_cores(2)
    model = HierarchicalSignupModel(draws=draws, tune=draws, cores=cores, random_seed=ctx.seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Potential.*")
        hier = score(
            paths["events"],
            paths["campaigns"],
            paths["signups"],
            rules=rules,
            method="hierarchical",
            model=model,
        )
    diag = check_model(model)
    write_audience(hier.audience, ctx.tables / "signup_audience_hierarchical.csv")
    nc = write_posterior(
        model, ctx.posteriors / "signup_hierarchical.nc", data_hash=data_hash(paths["events"])
    )
    kappa = topic_posterior_table(model, data.topic_truth)
    fig = save_figure(plot_concentrations(kappa), ctx.figures / "signup_kappa.png")
    inp = load_inputs(paths["events"], paths["campaigns"], paths["signups"])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Potential.*")
        bt = backtest(
            inp.events,
            inp.topic_of_campaign,
            inp.signups,
            truth=data.truth,
            model=HierarchicalSignupModel(
                draws=draws, tune=draws, cores=cores, random_seed=ctx.seed
            ),
        )
    ex_eb = eb.expected.iloc[-1]
    ex_h = hier.expected.iloc[-1]
    sec = Section(
        "Customer 360 signup probability (seed 003)",
        "Per (email, topic): the seed's empirical Bayes (alpha = 2, topic priors clamped to "
        "[1e-4, 0.9]) and a hierarchical beta-binomial that learns each topic's Beta mean and "
        "concentration, on generated data with realistic dirt and known truth.",
    )
    sec.metrics(
        {
            "events (raw / unique per msg_id and type)": f"{eb.info['n_events']:,} / "
            f"{eb.info['n_unique_events']:,}",
            "(email, topic) pairs": f"{eb.info['n_pairs']:,}",
            "audience (goal new, top-N per topic)": f"{len(eb.audience):,}",
            "expected signups, seed EB": f"{ex_eb['expected_signups']:.2f}",
            "expected signups, hierarchical (90% CI)": f"{ex_h['expected_signups']:.2f} "
            f"({ex_h['lower']:.2f} – {ex_h['upper']:.2f})",
            "hierarchical fit": "ok" if diag.ok else "FAILED: " + "; ".join(diag.problems),
            "r-hat max / ESS bulk min / divergences": f"{diag.r_hat_max:.3f} / "
            f"{diag.ess_bulk_min:.0f} / {diag.divergences}",
        },
        caption="Audience summary",
    )
    sec.table(
        eb.priors, "Topic priors (seed §3)", ctx.tables / "signup_topic_priors.csv", ctx.outdir
    )
    sec.table(eb.funnel, "Business rules (seed §6), rows kept after each", report_dir=ctx.outdir)
    sec.table(
        eb.audience.head(10)[
            ["email", "topic", "sends", "clicks", "p_click", "p_signup_given_click", "p_signup"]
        ],
        "Top of the EB audience",
        report_dir=ctx.outdir,
    )
    sec.table(
        bt.metrics,
        "Backtest: each pair's last send held out; log loss and Brier (lower is better), RMSE "
        "against the true rates",
        ctx.tables / "signup_backtest.csv",
        ctx.outdir,
    )
    sec.table(
        kappa,
        "Hierarchical topic parameters vs truth",
        ctx.tables / "signup_topics.csv",
        ctx.outdir,
    )
    sec.figure(fig, "Learned concentrations vs the seed's kappa = 2", ctx.outdir)
    sec.text(f"Posterior with prior, predictive checks and diagnostics: {nc.name}")
    sec.file("posterior", nc)
    sec.summary.update(
        expected_signups_eb=float(ex_eb["expected_signups"]),
        expected_signups_hierarchical=float(ex_h["expected_signups"]),
        backtest=bt.comparison(),
    )
    sec.headline = headlines.signup_audience(ex_h.to_dict(), method="hierarchical")
    return sec
