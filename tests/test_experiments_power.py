"""Power, sample size and MDE against statsmodels, the oracle (seed 004; issue 12).

Each figure names its variance convention: ``pooled`` is statsmodels'
``power_proportions_2indep`` (pooled variance under the null, unpooled under the alternative,
as R's ``power.prop.test``), ``cohen_h`` is ``NormalIndPower`` on ``proportion_effectsize``,
means are ``TTestIndPower`` (t) and ``NormalIndPower`` (z). statsmodels solves by root finding
with its own tolerances, so sample sizes agree to its precision (relative 1e-6); powers at a
given size are closed forms and agree to 1e-12.
"""

import math

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import power_proportions_2indep, proportion_effectsize

from models.experiments.power import PowerError, power_curve, power_means, power_proportions


def _sm_pooled(p_c, p_t, n_c, ratio, alpha=0.05, alternative="two-sided"):
    # statsmodels' nobs1 is the arm of prop1 = prop2 + diff: our treatment; its ratio = n2/n1
    return power_proportions_2indep(
        p_t - p_c,
        p_c,
        n_c * ratio,
        ratio=1 / ratio,
        alpha=alpha,
        alternative=alternative,
        return_results=False,
    )


@pytest.mark.parametrize(
    "baseline,mde,ratio,alternative",
    [
        (0.10, 0.02, 1.0, "two-sided"),
        (0.10, 0.02, 2.0, "two-sided"),
        (0.03, 0.005, 0.5, "larger"),
        (0.40, -0.05, 1.0, "two-sided"),
        (0.40, -0.05, 1.0, "smaller"),
    ],
)
def test_pooled_sample_size_gives_statsmodels_power(baseline, mde, ratio, alternative):
    r = power_proportions(baseline, mde=mde, power=0.8, ratio=ratio, alternative=alternative)
    assert r.convention == "pooled" and r.solved_for == "n"
    sm = _sm_pooled(baseline, baseline + r.effect, r.n_control, ratio, alternative=alternative)
    assert sm == pytest.approx(0.8, abs=1e-10)
    assert r.users_per_arm[0] == math.ceil(r.n_control)
    # power at a given n equals statsmodels' closed form
    p = power_proportions(baseline, mde=mde, n=5000, ratio=ratio, alternative=alternative)
    assert p.power == pytest.approx(
        _sm_pooled(baseline, baseline + p.effect, 5000, ratio, alternative=alternative), abs=1e-12
    )


def test_issue_examples_n_and_mde():
    # --baseline 0.10 --mde 0.02 --power 0.8: R's power.prop.test gives n = 3840.8 per group
    r = power_proportions(0.10, mde=0.02, power=0.8)
    assert r.n_control == pytest.approx(3840.84, abs=0.01) and r.users_per_arm == (3841, 3841)
    # --baseline 0.10 --n 10000: the MDE, read back through statsmodels
    m = power_proportions(0.10, n=10_000, power=0.8)
    assert m.solved_for == "mde" and m.effect > 0
    assert _sm_pooled(0.10, 0.10 + m.effect, 10_000, 1.0) == pytest.approx(0.8, abs=1e-10)
    assert m.relative_effect == pytest.approx(m.effect / 0.10)


def test_relative_mde_is_a_share_of_the_baseline():
    a = power_proportions(0.08, mde=0.1, relative=True, power=0.9)
    b = power_proportions(0.08, mde=0.008, power=0.9)
    assert a.n_control == pytest.approx(b.n_control, rel=1e-12)


@pytest.mark.parametrize(
    "ratio,alternative", [(1.0, "two-sided"), (1.5, "two-sided"), (3.0, "larger")]
)
def test_cohen_h_equals_normal_ind_power(ratio, alternative):
    r = power_proportions(
        0.10, mde=0.02, power=0.8, convention="cohen_h", ratio=ratio, alternative=alternative
    )
    h = proportion_effectsize(0.12, 0.10)
    assert r.effect_size == pytest.approx(h, abs=1e-14)
    n_sm = NormalIndPower().solve_power(
        h, power=0.8, alpha=0.05, ratio=ratio, alternative=alternative
    )
    assert r.n_control == pytest.approx(n_sm, rel=1e-6)
    p = power_proportions(
        0.10, mde=0.02, n=2000, convention="cohen_h", ratio=ratio, alternative=alternative
    )
    assert p.power == pytest.approx(
        NormalIndPower().power(h, 2000, 0.05, ratio=ratio, alternative=alternative), abs=1e-12
    )


@pytest.mark.parametrize(
    "d,ratio,alternative",
    [
        (0.2, 1.0, "two-sided"),
        (0.1, 2.0, "two-sided"),
        (0.3, 1.0, "larger"),
        (-0.25, 0.7, "smaller"),
    ],
)
def test_means_t_and_z_equal_statsmodels(d, ratio, alternative):
    t = power_means(effect_size=d, power=0.8, ratio=ratio, alternative=alternative, test="t")
    assert t.n_control == pytest.approx(
        TTestIndPower().solve_power(d, power=0.8, alpha=0.05, ratio=ratio, alternative=alternative),
        rel=1e-6,
    )
    z = power_means(effect_size=d, power=0.8, ratio=ratio, alternative=alternative, test="z")
    assert z.n_control == pytest.approx(
        NormalIndPower().solve_power(
            d, power=0.8, alpha=0.05, ratio=ratio, alternative=alternative
        ),
        rel=1e-6,
    )
    p = power_means(effect_size=d, n=150, ratio=ratio, alternative=alternative, test="t")
    assert p.power == pytest.approx(
        TTestIndPower().power(d, 150, 0.05, ratio=ratio, alternative=alternative), abs=1e-12
    )


def test_mde_in_raw_units_and_the_cuped_factor():
    # the statsmodels users' ask (#8561): the MDE in the metric's own units
    r = power_means(sd=30.0, n=5000, power=0.8)
    d_sm = TTestIndPower().solve_power(nobs1=5000, power=0.8, alpha=0.05)
    # statsmodels' root finder stops at ~1e-4 relative here; its power at our d is exact
    assert TTestIndPower().power(r.effect_size, 5000, 0.05) == pytest.approx(0.8, abs=1e-10)
    assert r.effect_size == pytest.approx(d_sm, rel=1e-4)
    assert r.effect == pytest.approx(30.0 * r.effect_size, rel=1e-12)
    # CUPED: with a known-sd z-test, variance factor f shrinks n by exactly f and the MDE by √f
    z1 = power_means(sd=30.0, mde=1.0, power=0.8, test="z")
    zf = power_means(sd=30.0, mde=1.0, power=0.8, test="z", variance_factor=0.75)
    assert zf.n_control == pytest.approx(0.75 * z1.n_control, rel=1e-9)
    m1 = power_means(sd=30.0, n=4000, power=0.8, test="z")
    mf = power_means(sd=30.0, n=4000, power=0.8, test="z", variance_factor=0.75)
    assert mf.effect == pytest.approx(math.sqrt(0.75) * m1.effect, rel=1e-9)
    # proportions, pooled: both variances scale, so n scales by f too
    p1 = power_proportions(0.1, mde=0.01, power=0.8)
    pf = power_proportions(0.1, mde=0.01, power=0.8, variance_factor=0.6)
    assert pf.n_control == pytest.approx(0.6 * p1.n_control, rel=1e-9)


def test_power_curve_matches_point_powers_and_rises():
    r = power_proportions(0.10, mde=0.02, power=0.8)
    curve = power_curve(r)
    assert np.all(np.diff(curve["power"]) > 0)
    i = len(curve) // 2
    n = curve["n_control"].iloc[i]
    assert curve["power"].iloc[i] == pytest.approx(
        power_proportions(0.10, mde=0.02, n=n).power, abs=1e-12
    )
    assert np.interp(r.n_control, curve["n_control"], curve["power"]) == pytest.approx(
        0.8, abs=0.01
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(baseline=0.1, mde=0.02, power=0.04), "must exceed alpha"),
        (dict(baseline=0.1, mde=0.95, power=0.8), "not a conversion rate"),
        (dict(baseline=1.2, mde=0.02, power=0.8), "baseline"),
        (dict(baseline=0.1, mde=0.0, power=0.8), "effect to detect is 0"),
        (dict(baseline=0.1, n=10, power=0.9999999999), "add users"),
        (dict(baseline=0.1, power=0.8), "exactly two"),
        (dict(baseline=0.1, mde=0.02, power=0.8, alternative="less"), "alternative"),
    ],
)
def test_requests_without_a_solution_raise_clear_errors(kwargs, match):
    with pytest.raises(PowerError, match=match):
        power_proportions(**kwargs)


def test_one_sided_effect_in_the_wrong_direction_is_refused():
    # statsmodels #9378: solve_power returns a made-up n for impossible requests; we refuse
    with pytest.raises(PowerError, match="goes the other way"):
        power_means(effect_size=-0.2, power=0.8, alternative="larger", test="z")
    with pytest.raises(PowerError, match="goes the other way"):
        power_proportions(0.1, mde=0.02, power=0.8, alternative="smaller")
