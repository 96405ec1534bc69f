"""Demo section of the uplift domain (seed 004): learners against the truth, Qini with bands,
calibration, and targeting valued with the LTV posterior."""

from __future__ import annotations

from bayes.report import Section

#: campaign economics of the demo (currency units): promotion paid per treated conversion,
#: contact paid per targeted customer
PROMO_COST = 1.5
CONTACT_COST = 0.2


#: the LTV fit's NUTS settings in the quick demo. 2 chains x 150 draws after 200 tuning failed
#: the diagnostics rule (r-hat 1.022, tail ESS 137), for two reasons: even independent draws
#: fail r-hat <= 1.01 on one of the 7 parameters about half the time at that length (0.3% at
#: 500 draws), and the Gamma-Gamma's (log p, log v) ridge (correlation -0.96, heavier-tailed
#: than the Laplace start) needs a longer tuning for the two chains' tails to agree (folded
#: r-hat of log v). 500 draws after 500 tuning pass on every data seed tried (0-5; 500 after
#: 200 failed 2 of 6, 1,000 after 200 passed but doubles the per-customer groups and file).
QUICK_LTV_SAMPLER = {"draws": 500, "tune": 500, "chains": 2}


def fit_demo_ltv(data, *, seed: int = 0, quick: bool = False):
    """The BG/NBD + Gamma-Gamma posterior (weeks) of the uplift data's orders up to its
    observation end, by which the section values each conversion."""
    from bayes.ltv.data import load_transactions
    from bayes.ltv.workflow import fit_ltv, prepare_rfm
    from models.sampling import SamplerConfig

    tx = load_transactions(data.orders, source="generated orders")
    rfm = prepare_rfm(transactions=tx, observation_end=data.observation_end, time_unit="W").rfm
    settings = QUICK_LTV_SAMPLER if quick else {}  # else the workbench's default sampler
    return fit_ltv(rfm, sampler=SamplerConfig(**settings, seed=seed))


def run_uplift_demo(n_users: int, *, seed: int = 0, quick: bool = False, n_boot: int = 200):
    """Everything the section shows, as data (also used by notebook 07)."""
    import importlib.util

    from bayes.uplift.data import FEATURES, generate_uplift_data
    from bayes.uplift.evaluate import compare_learners
    from bayes.uplift.targeting import Costs, ltv_draws, simulate_targeting

    data = generate_uplift_data(n_users, seed=seed)
    ex = data.experiment
    value = float(ex.loc[ex["converted"] == 1, "margin"].mean())
    learners = ["two-model", "s", "x", "dr"]
    if not quick and importlib.util.find_spec("econml") is not None:
        learners.append("causal-forest")
    table, fits = compare_learners(
        data,
        learners=learners,
        features=FEATURES,
        value=value,
        promo_cost=PROMO_COST,
        contact_cost=CONTACT_COST,
        n_boot=n_boot,
        seed=seed,
    )
    best = fits["dr"]
    # value each conversion with the customer's 12-month LTV posterior (x the margin rate)
    ltv_fit = fit_demo_ltv(data, seed=seed, quick=quick)
    margin_rate = float(data.orders["margin"].sum() / data.orders["amount"].sum())
    sc = best.scores
    ltv = ltv_draws(ltv_fit, sc["user_id"], months=12, n_draws=200, seed=seed)
    costs = Costs(promo=PROMO_COST, contact=CONTACT_COST)
    common = dict(costs=costs, policies=["top:0.3"], seed=seed)
    by_ltv = simulate_targeting(
        sc["uplift"],
        value=margin_rate * ltv,
        outcome=sc["converted"],
        treatment=sc["treatment_flag"],
        **common,
    )
    by_margin = simulate_targeting(
        sc["uplift"],
        value=value,
        outcome=sc["converted"],
        treatment=sc["treatment_flag"],
        n_boot=n_boot,
        **common,
    )
    return {
        "data": data,
        "value": value,
        "margin_rate": margin_rate,
        "table": table,
        "fits": fits,
        "ltv_fit": ltv_fit,
        "by_ltv": by_ltv,
        "by_margin": by_margin,
    }


def _diagnostics_text(d: dict) -> str:
    if d.get("ok"):
        return f"ok (r-hat max {d['r_hat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f})"
    return "FAILED: " + "; ".join(d.get("problems", ["not checked"]))


def demo_section(ctx) -> Section:
    from bayes.io import save_figure, write_json
    from bayes.uplift.data import write_uplift_data
    from bayes.uplift.plots import (
        plot_calibration,
        plot_learners,
        plot_net_revenue,
        plot_uplift_curve,
    )

    res = run_uplift_demo(3000 if ctx.quick else 20_000, seed=ctx.seed, quick=ctx.quick)
    data, table, fits = res["data"], res["table"], res["fits"]
    write_uplift_data(data, ctx.data / "uplift")
    res["ltv_fit"].save(ctx.posteriors / "uplift_ltv.nc")
    meta = data.meta()
    sec = Section(
        "Uplift: who to target with a promotion (seed 004)",
        "A promotion experiment on the growth customers with known response types "
        "(persuadables, sure things, lost causes, sleeping dogs); uplift learners scored on "
        "held-out customers against the true uplift; net revenue of targeting valued with "
        "each customer's 12-month LTV posterior.",
        reference="seed 004, Methods: Uplift; Limitations & Next Steps",
    )
    sec.metrics(
        {
            "customers in the experiment": meta["customers"],
            "treated / control": f"{meta['treated']:,} / {meta['control']:,}",
            "true ATE (expected) / observed": f"{meta['ate_true']:+.3f} / "
            f"{meta['ate_observed']:+.3f}",
            "declared shares P/S/L/D": ", ".join(
                f"{v:.2f}" for v in meta["shares_declared"].values()
            ),
            "realised shares P/S/L/D": ", ".join(
                f"{v:.3f}" for v in meta["shares_realised"].values()
            ),
        },
        "generated data (files in data/uplift)",
    )
    sec.table(
        table.round(4),
        "held-out customers: Qini coefficient (scikit-uplift qini_auc_score: (area − random) / "
        "(perfect − random)) and AUUC per user (area / N²) with 90% bootstrap intervals; "
        f"regret in true net margin against the oracle policy (value {res['value']:.2f} per "
        f"conversion, promotion {PROMO_COST} per treated conversion, contact {CONTACT_COST})",
        csv_path=ctx.tables / "uplift_learners.csv",
        report_dir=ctx.outdir,
    )
    f = save_figure(plot_learners(table), ctx.figures / "uplift_learners.png")
    sec.figure(f, "Qini coefficient per learner against the true uplift", report_dir=ctx.outdir)
    dr = fits["dr"].evaluation
    f = save_figure(
        plot_uplift_curve(dr.curves, "qini", label="dr"), ctx.figures / "uplift_qini.png"
    )
    sec.figure(
        f, "Qini curve of the DR learner: 90% band, random and perfect", report_dir=ctx.outdir
    )
    f = save_figure(plot_calibration(dr.calibration), ctx.figures / "uplift_calibration.png")
    sec.figure(f, "predicted vs observed uplift by decile (DR learner)", report_dir=ctx.outdir)
    by_ltv, by_margin = res["by_ltv"], res["by_margin"]
    f = save_figure(
        plot_net_revenue(by_ltv, value_label="12-month LTV margin"),
        ctx.figures / "uplift_net_revenue.png",
    )
    sec.figure(
        f,
        f"net margin of targeting the top fraction by DR uplift, valued with "
        f"{res['margin_rate']:.2f} × 12-month LTV (200 posterior draws × bootstrap)",
        report_dir=ctx.outdir,
    )
    s = by_ltv.summary
    b, nr = s["best_fraction"], s["net_revenue_at_best"]
    sm = by_margin.summary
    sec.metrics(
        {
            "best fraction (LTV value)": f"{b['value']:.0%} [{b['lower_90']:.0%}, {b['upper_90']:.0%}]",
            "net margin at best (LTV value)": f"{nr['mean']:,.0f} [{nr['lower_90']:,.0f}, "
            f"{nr['upper_90']:,.0f}]",
            "P(targeting beats not targeting)": f"{s['p_targeting_beats_not_targeting']:.2f}",
            "best fraction (one margin per conversion)": f"{sm['best_fraction']['value']:.0%} "
            f"[{sm['best_fraction']['lower_90']:.0%}, {sm['best_fraction']['upper_90']:.0%}]",
            "LTV posterior diagnostics": _diagnostics_text(res["ltv_fit"].diagnostics_.to_dict()),
        },
        f"targeting {s['users']:,} held-out customers ({s['estimator']} estimator)",
    )
    write_json(
        {"ltv": by_ltv.summary, "margin": by_margin.summary},
        ctx.tables / "uplift_targeting.json",
    )
    sec.headline = targeting_headline(s)
    return sec


#: a 90% interval of the best fraction wider than this says the data do not pin it down
UNDETERMINED_WIDTH = 0.5


def targeting_headline(summary: dict) -> str:
    """The report's one sentence on targeting: the best fraction with its 90% interval, the
    net margin there and the chance that targeting beats not targeting — and, when the
    interval spans more than :data:`UNDETERMINED_WIDTH` of the customers, that the data do
    not say how many to target (rather than a confident-sounding "top 1%")."""
    b, nr = summary["best_fraction"], summary["net_revenue_at_best"]
    interval = f"[{b['lower_90']:.0%}, {b['upper_90']:.0%}]"
    margin = (
        f"12-month net margin {nr['mean']:+,.0f} [{nr['lower_90']:+,.0f}, "
        f"{nr['upper_90']:+,.0f}] on {summary['users']:,} customers, "
        f"P(targeting beats not targeting) {summary['p_targeting_beats_not_targeting']:.2f}"
    )
    if b["upper_90"] - b["lower_90"] > UNDETERMINED_WIDTH:
        return (
            f"The data do not pin down how many customers to target: the best fraction by DR "
            f"uplift is anywhere in {interval} (90%); at its most likely value, the top "
            f"{b['value']:.0%}: {margin}"
        )
    return f"Target the top {b['value']:.0%} {interval} of customers by DR uplift: {margin}"
