"""Interactive Plotly charts shared by the app (:mod:`bayes.app`) and the report.

Each function takes the library's own result (an xarray grid, a summary dict, a table) and
returns a ``plotly.graph_objects.Figure``; nothing here computes a number the library does
not already give. Colours follow the matplotlib figures of the domains (red: integrated
wins, blue: standalone wins).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "delta_core_histogram",
    "expected_signups_chart",
    "funnel_chart",
    "interval_chart",
    "retention_heatmap",
    "sensitivity_heatmap",
]

_LAYOUT = dict(margin=dict(l=60, r=20, t=50, b=50), template="plotly_white")


def _go():
    import plotly.graph_objects as go

    return go


def sensitivity_heatmap(
    grid,
    alpha_draws: np.ndarray | None = None,
    beta_draws: np.ndarray | None = None,
    *,
    max_points: int = 800,
    seed: int = 0,
    title: str = "D(α, β): red = integrated wins, blue = standalone wins",
):
    """The sensitivity map D(α, β) (``bayes.video.sensitivity.sensitivity_grid``) in
    thousands of Core users, the D = 0 contour, the base point (1, 1) and, when given,
    posterior draws of (α, β) with their median."""
    go = _go()
    a = grid["alpha"].to_numpy()
    b = grid["beta"].to_numpy()
    z = grid.transpose("beta", "alpha").to_numpy() / 1e3
    lim = float(np.nanmax(np.abs(z))) or 1.0
    fig = go.Figure()
    fig.add_trace(
        go.Heatmap(
            x=a,
            y=b,
            z=z,
            zmid=0.0,
            zmin=-lim,
            zmax=lim,
            colorscale="RdBu",
            colorbar=dict(title=dict(text="D, thousand<br>Core users")),
            hovertemplate="α %{x:.2f}<br>β %{y:.2f}<br>D %{z:,.1f}k Core users<extra></extra>",
            name="D(α, β)",
        )
    )
    if np.nanmin(z) < 0 < np.nanmax(z):
        fig.add_trace(
            go.Contour(
                x=a,
                y=b,
                z=z,
                contours=dict(start=0, end=0, size=1, coloring="none", showlabels=False),
                line=dict(color="black", width=2),
                showscale=False,
                hoverinfo="skip",
                name="D = 0",
                showlegend=True,
            )
        )
    if a.min() <= 1 <= a.max() and b.min() <= 1 <= b.max():
        fig.add_trace(
            go.Scatter(
                x=[1.0],
                y=[1.0],
                mode="markers",
                marker=dict(symbol="x", size=11, color="black"),
                name="base priors (1, 1)",
                hovertemplate="base priors<extra></extra>",
            )
        )
    if alpha_draws is not None and beta_draws is not None:
        alpha_draws = np.asarray(alpha_draws, float).ravel()
        beta_draws = np.asarray(beta_draws, float).ravel()
        rng = np.random.default_rng(seed)
        take = rng.choice(alpha_draws.size, size=min(alpha_draws.size, max_points), replace=False)
        fig.add_trace(
            go.Scatter(
                x=alpha_draws[take],
                y=beta_draws[take],
                mode="markers",
                marker=dict(size=4, color="rgba(0,0,0,0.3)"),
                name="posterior draws",
                hovertemplate="α %{x:.2f}, β %{y:.2f}<extra>draw</extra>",
            )
        )
        ma, mb = float(np.median(alpha_draws)), float(np.median(beta_draws))
        fig.add_trace(
            go.Scatter(
                x=[ma],
                y=[mb],
                mode="markers",
                marker=dict(
                    symbol="star", size=18, color="gold", line=dict(color="black", width=1)
                ),
                name=f"posterior median ({ma:.2f}, {mb:.2f})",
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="α: multiplier on standalone adoption",
        yaxis_title="β: multiplier on standalone uplift",
        legend=dict(orientation="h", y=-0.18),
        height=520,
        **_LAYOUT,
    )
    fig.update_xaxes(range=[a.min() - 0.025, a.max() + 0.025])
    fig.update_yaxes(range=[b.min() - 0.025, b.max() + 0.025])
    return fig


def delta_core_histogram(delta_core, *, bins: int = 60, title: str = ""):
    """Overlaid histograms of ΔCore per mode and of the difference standalone − integrated
    (``delta_core``: an xarray with dims ``draw, mode``), in thousands."""
    go = _go()
    from plotly.subplots import make_subplots

    integ = delta_core.sel(mode="integrated").to_numpy() / 1e3
    stand = delta_core.sel(mode="standalone").to_numpy() / 1e3
    diff = stand - integ
    fig = make_subplots(rows=1, cols=2, subplot_titles=("ΔCore by mode", "standalone − integrated"))
    for x, name, color in ((integ, "integrated", "#b2182b"), (stand, "standalone", "#2166ac")):
        fig.add_trace(
            go.Histogram(x=x, nbinsx=bins, name=name, marker_color=color, opacity=0.55),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Histogram(x=diff, nbinsx=bins, name="difference", marker_color="#555", opacity=0.8),
        row=1,
        col=2,
    )
    fig.add_vline(x=0, line=dict(color="black", dash="dash"), row=1, col=2)
    fig.update_layout(barmode="overlay", title=title or None, height=380, **_LAYOUT)
    fig.update_xaxes(title_text="thousand Core users", row=1, col=1)
    fig.update_xaxes(title_text="thousand Core users", row=1, col=2)
    return fig


def retention_heatmap(matrix: pd.DataFrame, *, title: str = "Weekly retention by signup cohort"):
    """Cohort × week retention (``bayes.growth.cohorts.retention_matrix``; one panel; with a
    segment column the rows are labelled ``segment · cohort``). Censored cells stay blank."""
    go = _go()
    weeks = [c for c in matrix.columns if c.startswith("week_")]
    labels = matrix["cohort"].astype(str)
    seg_cols = [c for c in matrix.columns if c not in weeks + ["cohort", "cohort_size"]]
    if seg_cols:
        labels = matrix[seg_cols[0]].astype(str) + " · " + labels
    z = matrix[weeks].to_numpy(float) * 100
    text = np.where(np.isnan(z), "", np.vectorize(lambda v: f"{v:.0f}")(np.nan_to_num(z)))
    sizes = matrix["cohort_size"].to_numpy()
    custom = np.repeat(sizes[:, None], len(weeks), axis=1)
    fig = go.Figure(
        go.Heatmap(
            x=[int(w.split("_")[1]) for w in weeks],
            y=labels,
            z=z,
            text=text,
            texttemplate="%{text}",
            customdata=custom,
            colorscale="Blues",
            zmin=0,
            zmax=100,
            colorbar=dict(title=dict(text="retained, %")),
            hovertemplate="cohort %{y}<br>week %{x}: %{z:.1f}% of %{customdata:,} users"
            "<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="weeks since signup",
        yaxis_title="signup cohort (week starting)",
        yaxis=dict(autorange="reversed", type="category"),
        height=max(360, 26 * len(matrix) + 140),
        **_LAYOUT,
    )
    return fig


def funnel_chart(funnel: pd.DataFrame, *, title: str = "Rows kept after each business rule"):
    """Horizontal bars of the rows kept after each rule (``apply_rules``'s funnel)."""
    go = _go()
    fig = go.Figure(
        go.Bar(
            x=funnel["kept"],
            y=funnel["rule"],
            orientation="h",
            marker_color="#3563b5",
            text=[f"{v:,}" for v in funnel["kept"]],
            textposition="auto",
            hovertemplate="%{y}: %{x:,}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title, yaxis=dict(autorange="reversed"), height=320, xaxis_title="rows", **_LAYOUT
    )
    return fig


def expected_signups_chart(expected: pd.DataFrame, *, title: str = "Expected signups by topic"):
    """Expected signups per topic with their interval when the table has ``lower_90``/
    ``upper_90`` (any ``lower_NN``/``upper_NN``; ``bayes.signup.audience.expected_signups``);
    the ``(all)`` row is left out."""
    go = _go()
    e = expected[expected["topic"] != "(all)"]
    err = None
    lo = next((c for c in e.columns if str(c).startswith("lower_")), None)
    hi = lo.replace("lower_", "upper_", 1) if lo else None
    if lo and hi in e.columns:
        err = dict(
            type="data",
            symmetric=False,
            array=(e[hi] - e["expected_signups"]).to_numpy(),
            arrayminus=(e["expected_signups"] - e[lo]).to_numpy(),
        )
    fig = go.Figure(
        go.Bar(
            x=e["topic"],
            y=e["expected_signups"],
            error_y=err,
            marker_color="#3563b5",
            customdata=e["members"],
            hovertemplate="%{x}: %{y:,.1f} expected signups from %{customdata:,} recipients"
            "<extra></extra>",
        )
    )
    fig.update_layout(title=title, yaxis_title="expected signups", height=340, **_LAYOUT)
    return fig


def interval_chart(rows: pd.DataFrame, *, title: str = "", unit: str = ""):
    """Point estimates with intervals, one row per quantity: columns ``label``, ``mean``,
    ``lower``, ``upper`` (a forest plot)."""
    go = _go()
    fig = go.Figure(
        go.Scatter(
            x=rows["mean"],
            y=rows["label"],
            mode="markers",
            marker=dict(size=11, color="#3563b5"),
            error_x=dict(
                type="data",
                symmetric=False,
                array=(rows["upper"] - rows["mean"]).to_numpy(),
                arrayminus=(rows["mean"] - rows["lower"]).to_numpy(),
            ),
            hovertemplate="%{y}: %{x:,.2f}" + (f" {unit}" if unit else "") + "<extra></extra>",
        )
    )
    fig.update_layout(
        title=title, height=80 + 60 * len(rows), yaxis=dict(autorange="reversed"), **_LAYOUT
    )
    return fig
