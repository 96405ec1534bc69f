"""One-sentence headlines: each domain's decision or headline number with its uncertainty.

The report's summary (``Section.headline``), the app's pages and the tracking store (tag
``bayes.headline``) all read these sentences, so a number is phrased once. Probabilities of
being better are written "P(standalone better) 0.19" — a posterior probability, not a
p-value — and intervals are central 90% posterior (or Monte Carlo) intervals.
"""

from __future__ import annotations

from bayes.formatting import compact, fmt_interval, fmt_number

__all__ = ["ltv_total", "photos_baseline", "signup_audience", "video_decision", "video_update"]


def video_decision(summary: dict, *, population: str = "high-engagement base") -> str:
    """From :func:`bayes.video.decide.simulation_summary` (or ``decide``): "Keep video
    integrated: standalone − integrated −58k Core users [−150k, +41k], P(standalone better)
    0.19" — the recommendation is the choice with the smaller expected loss."""
    d = summary["difference"]
    rec = summary["recommendation"]
    verb = "Keep video integrated" if rec == "integrated" else "Ship a standalone video app"
    return (
        f"{verb}: standalone − integrated {compact(d['mean'], plus=True)} Core users "
        f"{fmt_interval(d['lower_90'], d['upper_90'], plus=True)} on the {population}, "
        f"P(standalone better) {fmt_number(d['p_standalone_better'], 2)}."
    )


def video_update(summary: dict) -> str:
    """From :func:`bayes.video.decide.update`'s summary: the posterior (α̂, β̂), P(standalone
    better) and the §11 rule's verdict."""
    a, b = summary["alpha_hat"], summary["beta_hat"]
    rec = summary["recommendation"]
    verb = "keep video integrated" if rec == "integrated" else "a standalone app"
    rule = summary.get("rule_11", {})
    p_blue = rule.get("p_blue")
    tail = (
        f"; P((α, β) in the blue region) {fmt_number(p_blue, 2)} against the §11 threshold "
        f"{fmt_number(rule.get('threshold'), 2)}"
        if p_blue is not None
        else ""
    )

    def hat(h: dict) -> str:
        interval = fmt_interval(h["lower_90"], h["upper_90"], fmt=fmt_number, decimals=2)
        return f"{fmt_number(h['median'], 2)} {interval}"

    return (
        f"After the pilot, {verb}: α̂ {hat(a)}, β̂ {hat(b)}, "
        f"P(standalone better) {fmt_number(summary['p_standalone_better'], 2)}{tail}."
    )


def signup_audience(total: dict, *, method: str = "hierarchical") -> str:
    """From the ``(all)`` row of :func:`bayes.signup.audience.expected_signups`: "An audience
    of 2,433 recipients is expected to bring 25.5 signups [21.4, 29.6]". The interval is read
    from the row's ``lower_90``/``upper_90`` (any ``lower_NN``/``upper_NN``: the workbench's
    interval names); the seed's EB has none."""
    members = int(total["members"])
    n = total["expected_signups"]
    text = f"An audience of {members:,} recipients is expected to bring {fmt_number(n, 1)} signups"
    lo_key = next((k for k in total if str(k).startswith("lower_")), None)
    lo = total.get(lo_key) if lo_key else None
    if lo is not None and lo == lo:
        hi = total[lo_key.replace("lower_", "upper_", 1)]
        text += (
            f" {fmt_interval(lo, hi, fmt=fmt_number, decimals=1)} "
            f"({method} model, {lo_key.split('_', 1)[1]}% interval)"
        )
    else:
        text += " (the seed's empirical Bayes: a point estimate, no interval)"
    return text + "."


def ltv_total(summary: dict, months: int = 12) -> str:
    """From the summary of :func:`bayes.ltv.workflow.run_ltv`: the ``months``-month
    discounted LTV of the customer base with its 90% posterior interval (the sum over
    customers, per draw), per customer, and the holdout's total purchases, predicted against
    actual, that say how far to trust it."""
    from models.ltv.units import days_per_unit

    n = int(summary["customers"])
    key = f"ltv_{months}m"
    total = summary.get("totals", {}).get(key)
    if total is None:  # no spend in the data: purchases only
        pc = summary["per_customer"]["expected_purchases"]
        text = (
            f"The {n:,} customers are expected to make {fmt_number(pc['mean'], 2)} purchases "
            f"each over the horizon {fmt_interval(pc['lower_90'], pc['upper_90'])} (90% interval)"
        )
    else:
        text = (
            f"The {n:,} customers are worth {compact(total['mean'])} "
            f"{fmt_interval(total['lower_90'], total['upper_90'])} over the next {months} months "
            f"(discounted, 90% interval; {fmt_number(total['mean'] / n, 2)} per customer)"
        )
    holdout = summary.get("holdout")
    if holdout and holdout.get("total_actual") is not None:
        weeks = holdout["duration"] * days_per_unit(summary["time_unit"]) / 7
        text += (
            f"; on the {fmt_number(weeks, 0)}-week holdout the model predicted "
            f"{fmt_number(holdout['total_predicted'], 0)} purchases against "
            f"{fmt_number(holdout['total_actual'], 0)} "
            f"({fmt_number(100 * holdout['ape_total'], 0)}% off)"
        )
    return text + "."


def photos_baseline(metrics, lift=None) -> str:
    """From the Photos metrics table (one row per model, with ``roc_auc_se``) and the lift
    table: the better model's ROC AUC with its 90% interval (± 1.645 standard errors) and
    the Core_90d rate of its top score decile against the bottom one."""
    m = metrics.set_index("model")
    best = m["roc_auc"].idxmax()
    auc = float(m.loc[best, "roc_auc"])
    text = f"{str(best).replace('_', ' ').capitalize()} ranks Core_90d customers with ROC AUC "
    text += fmt_number(auc, 3)
    if "roc_auc_se" in m.columns:
        se = float(m.loc[best, "roc_auc_se"])
        text += " " + fmt_interval(auc - 1.645 * se, auc + 1.645 * se, fmt=fmt_number, decimals=3)
    others = [i for i in m.index if i != best]
    if others:
        o = others[0]
        name = str(o).replace("_", " ")
        text += f" ({name} {fmt_number(float(m.loc[o, 'roc_auc']), 3)})"
    text += f" on {int(m.loc[best, 'n_test']):,} held-out customers"
    if lift is not None and {"decile", "core_rate"} <= set(lift.columns):
        rows = lift[lift["model"] == best] if "model" in lift.columns else lift
        if len(rows):
            top = float(rows.loc[rows["decile"].idxmax(), "core_rate"])
            bottom = float(rows.loc[rows["decile"].idxmin(), "core_rate"])
            text += (
                f"; its top score decile is Core at {fmt_number(100 * top, 0)}% against "
                f"{fmt_number(100 * bottom, 0)}% in the bottom one"
            )
    return text + "."
