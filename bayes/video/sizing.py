"""Pilot sizing: how much is a pilot of a given size worth, before running it (seed §11).

For truths drawn from the prior, a pilot is simulated at each size, the posterior
approximated (:func:`approx_posterior`, checked against NUTS in the tests) and the Bayes action
taken; the expected value of sample information (EVSI; Raiffa & Schlaifer 1961) is the prior
expected loss minus the expected loss after the pilot (:func:`pilot_sizing`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes.video.data import PHASE0_SEGMENTS
from models.video.simulator import (
    closed_form_delta_core,
    population_counts,
    prior_draws,
    simulate_pilot_counts,
)
from priors.segments import SEGMENT_KEYS
from priors.spec import PriorError
from priors.video import VideoPriors, standalone_multipliers

__all__ = ["DEFAULT_SIZES", "approx_posterior", "approx_update", "pilot_sizing"]

#: candidate pilot sizes (users per arm per segment)
DEFAULT_SIZES: tuple[int, ...] = (500, 2000, 10_000, 50_000)


def _beta_mean_var(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = a / (a + b)
    return m, m * (1 - m) / (a + b + 1)


def _prior_moments(priors: VideoPriors) -> dict[str, np.ndarray]:
    """Beta parameters of p_adopt, and means and variances of p_adopt, baseline and δ."""
    decl = priors.declarations()
    need = {"p_adopt": "Beta", "baseline": "Beta", "delta": "Normal"}
    wrong = {n: decl[n].dist for n, d in need.items() if decl[n].dist != d}
    if wrong:
        raise PriorError(
            f"the pilot-sizing approximation needs {need} priors; these are {wrong} "
            "(size the pilot with the declared families, or simulate NUTS updates)"
        )
    pa = {k: np.asarray(v, float) for k, v in decl["p_adopt"].params.items()}
    bl = {k: np.asarray(v, float) for k, v in decl["baseline"].params.items()}
    dl = decl["delta"]
    mb, vb = _beta_mean_var(bl["alpha"], bl["beta"])
    mp, vp = _beta_mean_var(pa["alpha"], pa["beta"])
    return {
        "a0": pa["alpha"],  # (segment, mode)
        "b0": pa["beta"],
        "mp": mp,
        "vp": vp,
        "mb": mb,
        "vb": vb,
        "md": np.broadcast_to(np.asarray(dl.params["mu"], float), pa["alpha"].shape),
        "vd": np.broadcast_to(np.asarray(dl.params["sigma"], float) ** 2, pa["alpha"].shape),
    }


def approx_posterior(
    counts: dict[str, np.ndarray],
    users: np.ndarray,
    priors: VideoPriors,
    *,
    draws: int = 4000,
    seed: int = 0,
    nodes: int = 48,
) -> dict[str, np.ndarray]:
    """Fast posterior of the decision quantity after pilots (vectorised over pilots).

    Semi-analytic importance sampling over (α, β): ``draws`` prior draws of (α, β) are
    weighted by the pilot's marginal likelihood with every other parameter integrated out,
    segment by segment (they are independent given α, β):

    * integrated adoption p: Beta–Binomial, exact (conjugate);
    * standalone adoption r = α·p, p ~ Beta(a₀, b₀): with u ~ Beta(a + 1, n − a + 1) the
      normalised likelihood of r, ``∫ f(p) Bin(a | n, αp) dp ∝ E_u[f(u/α)] / α``, and
      ``E[r | α, data] = E_u[u f(u/α)] / E_u[f(u/α)]`` — by quadrature at ``nodes`` quantiles
      of u (exact as nodes → ∞; α·p > 1 is neglected);
    * Core counts: the linear-Gaussian model y₀ ~ N(b, v₀), y_m ~ N(b + s_m d_m, v_m)
      (y = k/n, s = a/n, v the binomial variance at the observed rate; d_stand = β·δ with
      δ ~ Normal) — the Normal limit of the likelihood of :mod:`models.video`; conjugate.

    The decision quantity is D = ΔCore_stand − ΔCore_int on the high-engagement base,
    E[D | α, β, data] = Σ_c N_c (E[r_cs] E[d_cs] − E[r_ci] E[d_ci]) (adoption and uplift are
    independent given the data since Core is conditioned on the observed adoption share), with
    its conditional variance; P(D > 0) uses a Normal for D given (α, β). Sessions and minutes
    do not inform D and are ignored. Population sampling noise is neglected.

    Parameters
    ----------
    counts
        ``adopters`` and ``core`` of shape (pilot, segment, arm) and ``segments`` (indices),
        as returned by :func:`models.video.simulator.simulate_pilot_counts`.
    users
        Users per arm, broadcastable to (pilot, segment, arm).

    Returns
    -------
    dict of arrays over pilots: ``alpha_mean``, ``beta_mean``, ``d_mean`` (E[D]),
    ``p_standalone_better``, ``loss_integrated`` (E[max(0, D)]), ``loss_standalone``
    (E[max(0, −D)]) and ``ess`` (Kish effective sample size of the weights).
    """
    from scipy import stats

    ab = prior_draws(priors, draws, seed)  # the one prior sampler (IS proposal)
    alpha, beta = ab["alpha"], ab["beta"]
    mom = _prior_moments(priors)
    mask, _, n_pop = population_counts(priors, "high")
    n_seg = np.zeros(len(SEGMENT_KEYS))
    n_seg[mask] = n_pop
    si = np.asarray(counts["segments"])
    adopt = np.asarray(counts["adopters"], float)
    core = np.asarray(counts["core"], float)
    n = np.broadcast_to(np.asarray(users, float), adopt.shape)
    sims = adopt.shape[0]
    i_int, i_st = 0, 1

    # ---- prior moments for every segment as functions of (α, β): (draw, segment); the
    # transform is linear in p and δ, so it maps first moments with (α, β) and second
    # moments with (α², β²) (uncapped: α·p > 1 is neglected, see above)
    m_p, v_p = mom["mp"], mom["vp"]
    e1_r, e1_d = standalone_multipliers(m_p, mom["md"], alpha, beta, cap=False)
    e2_r, v_d = standalone_multipliers(v_p + m_p**2, mom["vd"], alpha**2, beta**2, cap=False)
    er_s, er2_s = e1_r[..., i_st], e2_r[..., i_st]
    ed_s, vd_s = e1_d[..., i_st], v_d[..., i_st]
    er_i = np.broadcast_to(m_p[:, i_int], (draws, len(SEGMENT_KEYS)))
    er2_i = np.broadcast_to(v_p[:, i_int] + m_p[:, i_int] ** 2, er_i.shape)
    ed_i = np.broadcast_to(mom["md"][:, i_int], er_i.shape)
    vd_i = np.broadcast_to(mom["vd"][:, i_int], er_i.shape)
    cov_d = np.zeros_like(er_i)

    u_q = (np.arange(nodes) + 0.5) / nodes
    out = {
        k: np.zeros(sims)
        for k in (
            "alpha_mean",
            "beta_mean",
            "d_mean",
            "p_standalone_better",
            "loss_integrated",
            "loss_standalone",
            "ess",
        )
    }
    for s in range(sims):
        logw = np.zeros(draws)
        ERs, ER2s, EDs, VDs = er_s.copy(), er2_s.copy(), ed_s.copy(), vd_s.copy()
        ERi, ER2i, EDi, VDi, COV = er_i.copy(), er2_i.copy(), ed_i.copy(), vd_i.copy(), cov_d.copy()
        for j, c in enumerate(si):
            # integrated adoption: conjugate Beta posterior (independent of α, β)
            a0, b0 = mom["a0"][c, i_int], mom["b0"][c, i_int]
            ai, ni = adopt[s, j, 1], n[s, j, 1]
            A, B = a0 + ai, b0 + ni - ai
            ERi[:, c] = A / (A + B)
            ER2i[:, c] = A * (A + 1) / ((A + B) * (A + B + 1))
            # standalone adoption: quadrature over u ~ Beta(a + 1, n − a + 1)
            a_s, n_s = adopt[s, j, 2], n[s, j, 2]
            u = stats.beta.ppf(u_q, a_s + 1, n_s - a_s + 1)  # (nodes,)
            x = u[None, :] / alpha[:, None]  # p = u / α
            f = stats.beta.pdf(np.clip(x, 0, 1), mom["a0"][c, i_st], mom["b0"][c, i_st])
            f = np.where(x < 1, f, 0.0)
            safe = np.maximum(f.mean(axis=1), 1e-300)
            logw += np.log(safe) - np.log(alpha)
            ERs[:, c] = (f * u).mean(axis=1) / safe
            ER2s[:, c] = (f * u**2).mean(axis=1) / safe
            # Core: linear-Gaussian in x = (b, d_int, d_stand)
            k = core[s, j]
            nn = n[s, j]
            y = k / nn
            yh = (k + 0.5) / (nn + 1)
            v = yh * (1 - yh) / nn
            share = adopt[s, j] / nn
            H = np.array([[1.0, 0.0, 0.0], [1.0, share[1], 0.0], [1.0, 0.0, share[2]]])
            mu0 = np.zeros((draws, 3))
            mu0[:, 0] = mom["mb"][c]
            mu0[:, 1] = mom["md"][c, i_int]
            mu0[:, 2] = beta * mom["md"][c, i_st]
            S0 = np.zeros((draws, 3, 3))
            S0[:, 0, 0] = mom["vb"][c]
            S0[:, 1, 1] = mom["vd"][c, i_int]
            S0[:, 2, 2] = beta**2 * mom["vd"][c, i_st]
            HS = H[None] @ S0  # (draw, 3, 3)
            S = HS @ H.T[None] + np.diag(v)[None]
            resid = y[None, :] - mu0 @ H.T
            sol = np.linalg.solve(S, resid[..., None])[..., 0]
            _, logdet = np.linalg.slogdet(S)
            logw += -0.5 * (logdet + np.einsum("di,di->d", resid, sol))
            gain = np.einsum("dji,dj->di", HS, sol)  # Σ0 Hᵀ S⁻¹ r
            xm = mu0 + gain
            P = S0 - HS.transpose(0, 2, 1) @ np.linalg.solve(S, HS)
            EDi[:, c], EDs[:, c] = xm[:, 1], xm[:, 2]
            VDi[:, c], VDs[:, c], COV[:, c] = P[:, 1, 1], P[:, 2, 2], P[:, 1, 2]
        w = np.exp(logw - logw.max())
        w /= w.sum()
        m_s = ERs * EDs
        m_i = ERi * EDi
        var_s = ER2s * (VDs + EDs**2) - m_s**2
        var_i = ER2i * (VDi + EDi**2) - m_i**2
        cov = ERs * ERi * COV
        mu_d = ((m_s - m_i) * n_seg).sum(axis=1)
        sd_d = np.sqrt(np.maximum(((var_s + var_i - 2 * cov) * n_seg**2).sum(axis=1), 1e-12))
        z = mu_d / sd_d
        pos = mu_d * stats.norm.cdf(z) + sd_d * stats.norm.pdf(z)  # E[max(0, D) | α, β]
        out["alpha_mean"][s] = w @ alpha
        out["beta_mean"][s] = w @ beta
        out["d_mean"][s] = w @ mu_d
        out["p_standalone_better"][s] = w @ stats.norm.cdf(z)
        out["loss_integrated"][s] = w @ pos
        out["loss_standalone"][s] = w @ (pos - mu_d)
        out["ess"][s] = 1.0 / np.sum(w**2)
    return out


def approx_update(pilot: pd.DataFrame, priors: VideoPriors | None = None, **kw) -> dict:
    """:func:`approx_posterior` for one validated pilot table (every arm of each covered
    segment present). Returns scalars."""
    priors = priors or VideoPriors()
    segs = list(dict.fromkeys(pilot["segment"]))
    t = pilot.set_index(["segment", "arm"])
    arms = ("control", "integrated", "standalone")
    try:
        adopters = np.array([[t.loc[(s, a), "adopters"] for a in arms] for s in segs], float)
        core = np.array([[t.loc[(s, a), "core_90d"] for a in arms] for s in segs], float)
        users = np.array([[t.loc[(s, a), "users"] for a in arms] for s in segs], float)
    except KeyError as exc:
        raise ValueError(f"approx_update needs all three arms of each segment: {exc}") from exc
    counts = {
        "adopters": adopters[None],
        "core": core[None],
        "segments": np.array([SEGMENT_KEYS.index(s) for s in segs]),
    }
    res = approx_posterior(counts, users[None], priors, **kw)
    return {k: float(v[0]) for k, v in res.items()}


def pilot_sizing(
    priors: VideoPriors | None = None,
    *,
    sizes: Sequence[int] = DEFAULT_SIZES,
    sims: int = 200,
    segments: Sequence[str] | None = PHASE0_SEGMENTS,
    seed: int = 0,
    is_draws: int = 4000,
    progressbar: bool = False,
) -> pd.DataFrame:
    """Prior-predictive value of a pilot of each size (users per arm per segment).

    For each of ``sims`` truths θ drawn from the prior, a pilot is simulated at θ (seed §7.1
    counts), the posterior is approximated (:func:`approx_posterior`) and the Bayes action
    taken (standalone iff E[D | pilot] > 0, D = ΔCore_stand − ΔCore_int). The *right* choice
    is the one better under θ (expected ΔCore, :func:`bayes.video.simulate.closed_form_delta_core`).

    Returns one row per size plus a ``0`` row (no pilot: decide on the prior):
    ``p_right`` (probability of the right choice), ``expected_loss`` (mean Core users lost
    against the right choice; the preposterior expected loss), ``evsi`` (prior expected loss −
    ``expected_loss``), its Monte Carlo standard error (paired over truths), the share of
    pilots recommending standalone and the median importance-sampling ESS.
    The same truths are used for every size (common random numbers).
    """
    from bayes.progress import progress

    priors = priors or VideoPriors()
    ss = np.random.SeedSequence(seed)
    s_truth, s_pilot, s_is = (int(c.generate_state(1)[0]) for c in ss.spawn(3))
    truth = prior_draws(priors, sims, s_truth)
    dc = closed_form_delta_core(truth, priors)
    d_true = dc[:, 1] - dc[:, 0]
    prior_action_stand = d_true.mean() > 0
    loss_prior = np.where(prior_action_stand, np.maximum(-d_true, 0), np.maximum(d_true, 0))
    rows = [
        {
            "users_per_arm": 0,
            "total_users": 0,
            "p_right": float(np.mean((d_true > 0) == prior_action_stand)),
            "expected_loss": float(loss_prior.mean()),
            "evsi": 0.0,
            "evsi_se": 0.0,
            "share_recommending_standalone": float(prior_action_stand),
            "median_ess": np.nan,
        }
    ]
    n_arms = 3
    n_segs = len(SEGMENT_KEYS if segments is None else segments)
    for size in progress(list(sizes), desc="pilot sizes", enabled=progressbar):
        rng = np.random.default_rng(np.random.SeedSequence([s_pilot, int(size)]))
        counts = simulate_pilot_counts(truth, int(size), rng, segments)
        post = approx_posterior(counts, np.asarray(size), priors, draws=is_draws, seed=s_is)
        stand = post["d_mean"] > 0
        loss = np.where(stand, np.maximum(-d_true, 0), np.maximum(d_true, 0))
        gain = loss_prior - loss
        rows.append(
            {
                "users_per_arm": int(size),
                "total_users": int(size) * n_arms * n_segs,
                "p_right": float(np.mean(stand == (d_true > 0))),
                "expected_loss": float(loss.mean()),
                "evsi": float(gain.mean()),
                "evsi_se": float(gain.std(ddof=1) / np.sqrt(sims)),
                "share_recommending_standalone": float(stand.mean()),
                "median_ess": float(np.median(post["ess"])),
            }
        )
    df = pd.DataFrame(rows)
    df.attrs.update({"sims": sims, "segments": list(segments or SEGMENT_KEYS), "seed": seed})
    return df
