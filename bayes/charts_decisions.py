"""Interactive Plotly charts of the experiments and uplift pages of the app: the power curve,
the lift posterior, the cumulative effect with its sequential band, the Qini / uplift curve
with its bootstrap band, and net revenue against the fraction targeted.

As in :mod:`bayes.charts` (kept in its own module so the domains' charts merge apart), each
function takes the library's own result (a table, an :class:`~models.uplift.metrics.
UpliftCurves`, draws) and returns a ``plotly.graph_objects.Figure``; nothing here computes a
number the library does not already give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes.charts import _LAYOUT, _go

__all__ = [
    "cumulative_effect_chart",
    "expected_loss_chart",
    "lift_posterior_chart",
    "net_revenue_chart",
    "power_curve_chart",
    "uplift_curve_chart",
]

_BLUE, _RED, _GREY, _GREEN = "#3563b5", "#c0392b", "#7f7f7f", "#2e8b57"


def _band(go, x, lower, upper, name: str, color: str = "rgba(53, 99, 181, 0.18)"):
    """A filled band between ``lower`` and ``upper`` (one trace, hover off)."""
    x = np.asarray(x, float)
    return go.Scatter(
        x=np.r_[x, x[::-1]],
        y=np.r_[np.asarray(upper, float), np.asarray(lower, float)[::-1]],
        fill="toself",
        fillcolor=color,
        line=dict(width=0),
        hoverinfo="skip",
        name=name,
    )


def power_curve_chart(curve: pd.DataFrame, *, result=None, title: str = "Power by sample size"):
    """Power against users per control arm (``models.experiments.power.power_curve``), with
    the target power and the solved size marked when ``result`` (its ``PowerResult``) is given."""
    go = _go()
    fig = go.Figure(
        go.Scatter(
            x=curve["n_control"],
            y=curve["power"],
            mode="lines",
            line=dict(color=_BLUE, width=2.5),
            name="power",
            hovertemplate="%{x:,.0f} users per control arm: power %{y:.3f}<extra></extra>",
        )
    )
    if result is not None:
        fig.add_hline(y=result.power, line=dict(color=_GREY, dash="dash"), annotation_text="target")
        fig.add_vline(
            x=result.n_control,
            line=dict(color=_RED, dash="dot"),
            annotation_text=f"{result.users_per_arm[0]:,} per control arm",
        )
        fig.add_hline(y=result.alpha, line=dict(color=_GREY, width=1), annotation_text="α")
    fig.update_layout(
        title=title,
        xaxis=dict(title="users per control arm", type="log"),
        yaxis=dict(title="power", range=[0, 1.02]),
        height=380,
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def lift_posterior_chart(
    draws, *, lower: float, upper: float, metric: str = "", prob: float = 0.9, bins: int = 80
):
    """Histogram of the posterior draws of the relative lift, its central ``prob`` interval
    (``lower``, ``upper`` from the readout) shaded, and zero marked: the mass right of zero
    is the chance to win."""
    go = _go()
    d = np.asarray(draws, float).ravel()
    fig = go.Figure(
        go.Histogram(
            x=d,
            nbinsx=bins,
            histnorm="probability density",
            marker=dict(color=_BLUE, line=dict(width=0)),
            opacity=0.8,
            name="posterior",
            hovertemplate="lift %{x:.2%}<extra></extra>",
        )
    )
    fig.add_vrect(x0=lower, x1=upper, fillcolor=_BLUE, opacity=0.1, line_width=0)
    fig.add_vline(x=0, line=dict(color=_RED, dash="dash"), annotation_text="no change")
    fig.update_layout(
        title=f"Posterior of the relative lift{f' of {metric}' if metric else ''} "
        f"(shaded: {prob:.0%} credible interval)",
        xaxis=dict(title="relative lift (treatment / control − 1)", tickformat=".1%"),
        yaxis_title="density",
        height=360,
        showlegend=False,
        **_LAYOUT,
    )
    return fig


def cumulative_effect_chart(seq: pd.DataFrame, *, metric: str = "", prob: float = 0.9):
    """The cumulative estimate per day (``bayes.experiments.analyze.sequential_table``) with
    the fixed-horizon interval and the always-valid confidence sequence."""
    from priors.spec import interval_names

    go = _go()
    lo, hi = interval_names(prob)
    slo, shi = interval_names(prob, "sequential")
    x = pd.to_datetime(seq["day"])
    fig = go.Figure(
        [
            _band(go, x, seq[slo], seq[shi], "always-valid (sequential)", "rgba(46,139,87,0.15)"),
            _band(go, x, seq[lo], seq[hi], f"fixed-horizon {prob:.0%}"),
            go.Scatter(
                x=x, y=seq["estimate"], mode="lines+markers", line=dict(color=_BLUE),
                name="cumulative estimate",
            ),
        ]
    )  # fmt: skip
    fig.add_hline(y=0, line=dict(color=_RED, dash="dash"))
    fig.update_layout(
        title=f"Cumulative effect{f' on {metric}' if metric else ''} by day",
        xaxis_title="day",
        yaxis_title="treatment − control",
        height=360,
        legend=dict(orientation="h", y=-0.25),
        **_LAYOUT,
    )
    return fig


def uplift_curve_chart(curves, kind: str = "qini", *, label: str = "model"):
    """A Qini (or uplift) curve of :class:`~models.uplift.metrics.UpliftCurves` with its
    bootstrap band, the random line and the perfect curve (incremental responders per user of
    the population against the fraction targeted)."""
    go = _go()
    c = curves.curves[kind]
    x = curves.fraction
    traces = [
        _band(go, x, c["lower"], c["upper"], f"{curves.prob:.0%} band (bootstrap)"),
        go.Scatter(x=x, y=c["value"], mode="lines", line=dict(color=_BLUE, width=2.5), name=label),
        go.Scatter(x=x, y=c["random"], mode="lines", line=dict(color=_GREY, dash="dash"),
                   name="random"),
    ]  # fmt: skip
    if np.isfinite(c["perfect"]).any():
        traces.append(
            go.Scatter(
                x=x, y=c["perfect"], mode="lines", line=dict(color=_GREEN, dash="dot"),
                name="perfect",
            )
        )  # fmt: skip
    fig = go.Figure(traces)
    name = "Qini" if kind == "qini" else "Uplift"
    fig.update_layout(
        title=f"{name} curve: {label}",
        xaxis=dict(title="fraction targeted (highest score first)", tickformat=".0%"),
        yaxis_title="incremental responders per user",
        height=400,
        legend=dict(orientation="h", y=-0.25),
        **_LAYOUT,
    )
    return fig


def net_revenue_chart(curve: pd.DataFrame, *, summary: dict | None = None, prob: float = 0.9):
    """Net revenue against the fraction targeted (``TargetingResult.curve()``) with its band;
    the best fraction and its interval (``TargetingResult.summary``) marked."""
    from priors.spec import interval_names

    go = _go()
    lo, hi = interval_names(prob, "net_revenue")
    fig = go.Figure(
        [
            _band(go, curve["fraction"], curve[lo], curve[hi], f"{prob:.0%} interval"),
            go.Scatter(
                x=curve["fraction"],
                y=curve["net_revenue_mean"],
                mode="lines",
                line=dict(color=_BLUE, width=2.5),
                name="mean net revenue",
                hovertemplate="%{x:.0%} targeted: %{y:,.0f}<extra></extra>",
            ),
        ]
    )
    fig.add_hline(y=0, line=dict(color=_GREY, dash="dash"), annotation_text="target nobody")
    if summary is not None:
        b = summary["best_fraction"]
        blo, bhi = interval_names(prob)
        fig.add_vrect(x0=b[blo], x1=b[bhi], fillcolor=_GREEN, opacity=0.1, line_width=0)
        fig.add_vline(
            x=b["value"], line=dict(color=_GREEN, dash="dot"), annotation_text="best fraction"
        )
    fig.update_layout(
        title="Net revenue of targeting the top fraction by score",
        xaxis=dict(title="fraction targeted (highest score first)", tickformat=".0%"),
        yaxis_title="net revenue (currency units)",
        height=400,
        legend=dict(orientation="h", y=-0.25),
        **_LAYOUT,
    )
    return fig


def expected_loss_chart(table: pd.DataFrame, *, threshold: float | None = None):
    """Expected loss of the decision after the experiment by users per control arm
    (``models.experiments.sizing.bayesian_sizing``), in % of the control's mean."""
    go = _go()
    t = table[table["users_control"] > 0]
    fig = go.Figure(
        go.Scatter(
            x=t["users_control"],
            y=t["expected_loss"],
            mode="lines+markers",
            line=dict(color=_BLUE, width=2.5),
            hovertemplate="%{x:,.0f} users per control arm: %{y:.3%}<extra></extra>",
        )
    )
    if threshold is not None:
        fig.add_hline(y=threshold, line=dict(color=_RED, dash="dash"), annotation_text="tolerance")
    fig.update_layout(
        title="Expected loss of the ship/keep decision after the experiment",
        xaxis=dict(title="users per control arm", type="log"),
        yaxis=dict(title="expected loss (share of the control mean)", tickformat=".2%"),
        height=340,
        showlegend=False,
        **_LAYOUT,
    )
    return fig
