"""Uplift metrics against independent truth.

Three oracles, each able to fail on its own:

1. a six-user case computed by hand (every curve point and area written out below), frozen
   from scikit-uplift 0.5.1's published definitions (``sklift/metrics/metrics.py``);
2. a brute-force transcription of those definitions (a Python loop over thresholds) on random
   cases with ties;
3. scikit-uplift itself, where it imports (0.5.1 still does with scikit-learn 1.9, through a
   deprecated ``stable_cumsum``; it will break with scikit-learn 1.10, and then only 1 and 2
   run).

The bootstrap is checked against the closed-form standard error of a difference of two
proportions, and its stratification by arm exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from models.uplift import metrics as M

# ----------------------------------------------------------------------------- hand case
# users (score, treatment, outcome), highest score first:
#   0.9 T y=1 | 0.8 C y=0 | 0.7 T y=0 | 0.6 C y=1 | 0.5 T y=1 | 0.4 C y=0
# cumulative (n_t, y_t, n_c, y_c) at n = 1..6:
#   (1,1,0,0) (1,1,1,0) (2,1,1,0) (2,1,2,1) (3,2,2,1) (3,2,3,1)
# Qini  Q(n) = y_t - y_c n_t/n_c       = 1, 1, 1, 0, 1/2, 1
# uplift U(n) = (y_t/n_t - y_c/n_c) n  = 1, 2, 3/2, 0, 5/6, 2
# Qini area (trapezoids)  = 1/2 + 1 + 1 + 1/2 + 1/4 + 3/4         = 4
# uplift area             = 1/2 + 3/2 + 7/4 + 3/4 + 5/12 + 17/12  = 19/3
# random areas: 6 * 1 / 2 = 3 (Qini), 6 * 2 / 2 = 6 (uplift)
# perfect Qini (treated responders, non-responders, control responders):
#   points (0,0) (2,2) (5,2) (6,1): area 2 + 6 + 3/2 = 19/2
# perfect uplift (c1 = 1 is not > t0 = 1, so: T1, C0, T0, C1):
#   points (0,0) (2,2) (4,4) (5,10/3) (6,2): area 2 + 6 + 11/3 + 8/3 = 43/3
# qini_auc_score  = (4 - 3) / (19/2 - 3)   = 2/13
# uplift_auc_score = (19/3 - 6) / (43/3 - 6) = 1/25
# uplift at k = 0.5: overall top 3 -> treated {1, 0}, control {0}: 1/2 - 0 = 1/2
#                    by group: top 1 treated (y=1) and top 1 control (y=0): 1
HAND = {
    "score": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
    "t": [1, 0, 1, 0, 1, 0],
    "y": [1, 0, 0, 1, 1, 0],
}


def _hand():
    return (np.array(HAND[k], dtype=float) for k in ("y", "t", "score"))


def test_hand_case_curves_and_areas():
    y, t, s = _hand()
    x, q = M.qini_curve(y, t, s)
    np.testing.assert_allclose(x, [0, 1, 2, 3, 4, 5, 6])
    np.testing.assert_allclose(q, [0, 1, 1, 1, 0, 0.5, 1])
    _, u = M.uplift_curve(y, t, s)
    np.testing.assert_allclose(u, [0, 1, 2, 1.5, 0, 5 / 6, 2])
    assert M.qini_area(y, t, s) == pytest.approx(4.0)
    assert M.auuc(y, t, s) == pytest.approx(19 / 3)
    px, pc = M.perfect_curve("qini", 2, 1, 1, 2)
    assert M._trapz(px, pc) == pytest.approx(19 / 2)
    px, pc = M.perfect_curve("uplift", 2, 1, 1, 2)
    assert M._trapz(px, pc) == pytest.approx(43 / 3)


def test_hand_case_scores():
    y, t, s = _hand()
    assert M.qini_auc_score(y, t, s) == pytest.approx(2 / 13)
    assert M.uplift_auc_score(y, t, s) == pytest.approx(1 / 25)
    assert M.uplift_at_k(y, t, s, k=0.5, strategy="overall") == pytest.approx(0.5)
    assert M.uplift_at_k(y, t, s, k=0.5, strategy="by_group") == pytest.approx(1.0)
    m, _ = M.uplift_metrics(y, t, s, k=0.5, n_boot=0)
    assert m["qini_coefficient"]["value"] == pytest.approx(2 / 13)
    assert m["auuc_per_user"]["value"] == pytest.approx(19 / 3 / 36)
    assert m["qini_random"]["value"] == pytest.approx(3.0)
    assert m["auuc_perfect"]["value"] == pytest.approx(43 / 3)


# ----------------------------------------------------------------------------- brute force


def _brute(y, t, s):
    """scikit-uplift 0.5.1's definitions, transcribed as loops (no cumulative sums)."""
    order = np.argsort(s, kind="mergesort")[::-1]
    y, t, s = y[order], t[order], s[order]
    xs, qs, us = [0.0], [0.0], [0.0]
    for i in range(len(s)):
        if i + 1 < len(s) and s[i + 1] == s[i]:
            continue  # curves are evaluated at the end of each tie block
        top = slice(0, i + 1)
        nt, nc = t[top].sum(), (1 - t[top]).sum()
        yt, yc = (y[top] * t[top]).sum(), (y[top] * (1 - t[top])).sum()
        xs.append(i + 1.0)
        qs.append(yt - (yc * nt / nc if nc else 0.0))
        us.append(((yt / nt if nt else 0.0) - (yc / nc if nc else 0.0)) * (i + 1))
    return np.array(xs), np.array(qs), np.array(us)


def _brute_norm(y, t, s, kind):
    def area(x, c):
        return float(np.sum(np.diff(x) * (c[1:] + c[:-1]) / 2))

    x, q, u = _brute(y, t, s)
    curve = q if kind == "qini" else u
    if kind == "qini":
        perfect_score = y * t - y * (1 - t)
    else:
        cr = np.sum((y == 1) & (t == 0))
        tn = np.sum((y == 0) & (t == 1))
        perfect_score = 2 * (y == t) + (y if cr > tn else t)
    px, pq, pu = _brute(y, t, perfect_score.astype(float))
    pc = pq if kind == "qini" else pu
    rnd = x[-1] * curve[-1] / 2
    return (area(x, curve) - rnd) / (area(px, pc) - rnd)


def _case(rng, n, ties):
    t = rng.integers(0, 2, n).astype(float)
    s = rng.normal(size=n)
    if ties:
        s = np.round(s, 1)
    y = (rng.random(n) < 0.2 + 0.15 * t * (s > 0) - 0.05 * t * (s < -1)).astype(float)
    return y, t, s


@pytest.mark.parametrize("n, ties", [(40, True), (300, False), (500, True)])
def test_equal_to_brute_force_definitions(rng, n, ties):
    y, t, s = _case(rng, n, ties)
    x, q, u = _brute(y, t, s)
    mx, mq = M.qini_curve(y, t, s)
    _, mu = M.uplift_curve(y, t, s)
    np.testing.assert_allclose(mx, x)
    np.testing.assert_allclose(mq, q, atol=1e-9)
    np.testing.assert_allclose(mu, u, atol=1e-9)
    assert M.qini_auc_score(y, t, s) == pytest.approx(_brute_norm(y, t, s, "qini"), abs=1e-12)
    assert M.uplift_auc_score(y, t, s) == pytest.approx(_brute_norm(y, t, s, "uplift"), abs=1e-12)


def _sklift():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import sklift.metrics as sm
    except Exception:  # not installed, or broken by a newer scikit-learn
        pytest.skip("scikit-uplift does not import here; the frozen oracles above still run")
    return sm


@pytest.mark.parametrize("n, ties", [(60, True), (2000, False), (2000, True)])
def test_equal_to_scikit_uplift(rng, n, ties):
    sm = _sklift()
    y, t, s = _case(rng, n, ties)
    y, t = y.astype(int), t.astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecated stable_cumsum
        expected = {
            "qini": sm.qini_auc_score(y, s, t),
            "uplift": sm.uplift_auc_score(y, s, t),
            "overall": sm.uplift_at_k(y, s, t, strategy="overall", k=0.3),
            "by_group": sm.uplift_at_k(y, s, t, strategy="by_group", k=0.3),
            "qc": sm.qini_curve(y, s, t),
            "uc": sm.uplift_curve(y, s, t),
        }
        hand = sm.qini_auc_score(*(np.array(HAND[k]) for k in ("y", "score", "t")))
    assert hand == pytest.approx(2 / 13)
    assert M.qini_auc_score(y, t, s) == pytest.approx(expected["qini"], abs=1e-12)
    assert M.uplift_auc_score(y, t, s) == pytest.approx(expected["uplift"], abs=1e-12)
    assert M.uplift_at_k(y, t, s, k=0.3) == pytest.approx(expected["overall"], abs=1e-12)
    assert M.uplift_at_k(y, t, s, k=0.3, strategy="by_group") == pytest.approx(
        expected["by_group"], abs=1e-12
    )
    np.testing.assert_allclose(M.qini_curve(y, t, s)[1], expected["qc"][1], atol=1e-9)
    np.testing.assert_allclose(M.uplift_curve(y, t, s)[1], expected["uc"][1], atol=1e-9)


# ----------------------------------------------------------------------------- properties


def test_perfect_and_random_rankings(rng):
    y, t, _ = _case(rng, 3000, False)
    perfect = y * t - y * (1 - t)
    assert M.qini_auc_score(y, t, perfect) == pytest.approx(1.0)
    # a score unrelated to the outcome: the coefficient is noise around 0, far below a model's
    scores = [M.qini_auc_score(y, t, rng.normal(size=y.size)) for _ in range(20)]
    assert abs(np.mean(scores)) < 4 * np.std(scores) / np.sqrt(20) + 0.02


def test_every_output_names_its_normalisation(rng):
    y, t, s = _case(rng, 500, False)
    m, curves = M.uplift_metrics(y, t, s, n_boot=20)
    for name, entry in m.items():
        if name == "_settings":
            continue
        assert entry["normalisation"] == M.NORMALISATION[name]
        assert {"value", "lower_90", "upper_90"} <= set(entry)
    frame = curves.frame()
    assert {"qini_random", "qini_perfect", "uplift_lower_90", "uplift_upper_90"} <= set(frame)


def test_validation_messages():
    with pytest.raises(ValueError, match="0/1"):
        M.sort_by_score([1, 0], [2, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="both arms"):
        M.sort_by_score([1, 0], [1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="finite"):
        M.sort_by_score([1, 0], [1, 0], [np.nan, 0.2])


# ----------------------------------------------------------------------------- bootstrap


def test_bootstrap_is_stratified_by_arm(rng):
    y, t, s = _case(rng, 1000, True)
    su = M.sort_by_score(y, t, s)
    ends = M._grid_ends(su, 50)
    rep = M._replicate_blocks(su, ends, 30, np.random.default_rng(1))
    np.testing.assert_array_equal(rep[:, 0].sum(axis=1), su.n_treated)
    np.testing.assert_array_equal(rep[:, 1].sum(axis=1), su.n_control)
    # responders can only come from users of the arm
    assert (rep[:, 2] <= rep[:, 0]).all() and (rep[:, 3] <= rep[:, 1]).all()


def test_bootstrap_se_of_ate_matches_closed_form():
    """The replicate sd of the ATE is the binomial standard error of p1 - p0, within the
    Monte Carlo error of an sd from B replicates (relative se ~ 1/sqrt(2B))."""
    rng = np.random.default_rng(7)
    n = 20_000
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < np.where(t == 1, 0.3, 0.2)).astype(float)
    s = rng.normal(size=n)
    B = 800
    reps, _ = M.bootstrap_metrics(y, t, s, n_boot=B, bins=100, seed=3)
    p1, p0 = y[t == 1].mean(), y[t == 0].mean()
    se = np.sqrt(p1 * (1 - p1) / (t == 1).sum() + p0 * (1 - p0) / (t == 0).sum())
    assert np.std(reps["ate"], ddof=1) == pytest.approx(se, rel=4 / np.sqrt(2 * B))
    assert np.mean(reps["ate"]) == pytest.approx(p1 - p0, abs=4 * se / np.sqrt(B))


def test_bootstrap_grid_auuc_close_to_exact_and_band_contains_curve(rng):
    y, t, s = _case(rng, 5000, False)
    m, curves = M.uplift_metrics(y, t, s, n_boot=100, bins=1000)
    e = m["auuc"]
    assert e["lower_90"] < e["value"] < e["upper_90"]
    c = curves.curves["qini"]
    inside = (c["lower"] <= c["value"] + 1e-12) & (c["value"] <= c["upper"] + 1e-12)
    assert inside.mean() > 0.9


def test_continuous_outcome_bootstrap(rng):
    y, t, s = _case(rng, 400, False)
    y = y * rng.gamma(2.0, 10.0, y.size)
    m, _ = M.uplift_metrics(y, t, s, n_boot=50)
    assert m["_settings"]["binary_outcome"] is False
    assert "qini_coefficient" not in m  # defined for binary outcomes only
    assert m["auuc"]["lower_90"] < m["auuc"]["value"] < m["auuc"]["upper_90"]


def test_same_seed_same_intervals(rng):
    y, t, s = _case(rng, 800, False)
    a, _ = M.uplift_metrics(y, t, s, n_boot=40, seed=5)
    b, _ = M.uplift_metrics(y, t, s, n_boot=40, seed=5)
    assert a == b


def test_calibration_by_decile(rng):
    """A score equal to the true uplift of each user is calibrated: the observed uplift per
    decile matches the mean true uplift within its bootstrap interval (most deciles)."""
    n = 40_000
    tau = rng.uniform(-0.1, 0.3, n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.3 + t * tau).astype(float)
    cal = M.calibration_by_decile(y, t, tau, n_boot=200, seed=2)
    assert list(cal["decile"]) == list(range(1, 11))
    assert cal["users"].sum() == n
    assert cal["predicted_uplift"].is_monotonic_decreasing
    covered = (cal["observed_uplift_lower_90"] <= cal["predicted_uplift"]) & (
        cal["predicted_uplift"] <= cal["observed_uplift_upper_90"]
    )
    assert covered.sum() >= 7  # 90% intervals: P(fewer than 7 of 10 cover) < 0.013
