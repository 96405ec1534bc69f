"""Retention depth: Kaplan-Meier with Greenwood intervals (statsmodels as the oracle, coverage
by simulation), survival by cohort, seasonality, and the growth CLI's issue-11 refusals."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes.cli import main
from bayes.growth.data import generate_growth_data, write_growth_data
from bayes.growth.survival import (
    activity_lifetimes,
    kaplan_meier,
    seasonality,
    survival_at,
    survival_by_cohort,
)
from bayes.io import InputError


@pytest.fixture(scope="module")
def small():
    return generate_growth_data(3000, seed=5)


def test_kaplan_meier_matches_statsmodels():
    from statsmodels.duration.survfunc import SurvfuncRight

    rng = np.random.default_rng(0)
    life = np.round(rng.exponential(10, 300))
    cens = np.round(rng.exponential(15, 300))
    t, e = np.minimum(life, cens), life <= cens
    km = kaplan_meier(t, e)
    sf = SurvfuncRight(t, e.astype(int))
    np.testing.assert_allclose(km["time"].to_numpy()[1:], sf.surv_times)
    np.testing.assert_allclose(km["survival"].to_numpy()[1:], sf.surv_prob, rtol=1e-12)
    ok = np.isfinite(sf.surv_prob_se)  # statsmodels: NaN once S = 0; ours 0
    np.testing.assert_allclose(
        km["survival_se"].to_numpy()[1:][ok], sf.surv_prob_se[ok], rtol=1e-10
    )
    np.testing.assert_array_equal(km["at_risk"].to_numpy()[1:], sf.n_risk)
    assert km["censored"].sum() == (~e).sum() and km["events"].sum() == e.sum()
    assert (km["lower_90"] <= km["survival"]).all() and (km["survival"] <= km["upper_90"]).all()
    assert km["lower_90"].min() >= 0 and km["upper_90"].max() <= 1


def test_kaplan_meier_by_hand():
    # times 1, 2+, 3, 3, 4+ : S(1) = 4/5, S(3) = 4/5 * (1 - 2/3) = 4/15
    km = kaplan_meier([1, 2, 3, 3, 4], [1, 0, 1, 1, 0])
    assert km["time"].tolist() == [0, 1, 3]
    np.testing.assert_allclose(km["survival"], [1, 0.8, 4 / 15])
    # Greenwood: S^2 (1/(5*4) + 2/(3*1))
    np.testing.assert_allclose(km["survival_se"].iloc[2], 4 / 15 * np.sqrt(1 / 20 + 2 / 3))


def test_kaplan_meier_intervals_cover_the_truth():
    """90% log-log intervals at t = 8 cover the true exponential survival in 90% of 400
    simulated studies, within 3 binomial s.e. (0.015 each way)."""
    rng = np.random.default_rng(11)
    t0, reps, hits = 8.0, 400, 0
    truth = np.exp(-t0 / 10)
    for _ in range(reps):
        life, cens = rng.exponential(10, 150), rng.exponential(20, 150)
        km = kaplan_meier(np.minimum(life, cens), life <= cens)
        i = np.searchsorted(km["time"].to_numpy(), t0, side="right") - 1
        hits += km["lower_90"].iloc[i] <= truth <= km["upper_90"].iloc[i]
    se = np.sqrt(0.9 * 0.1 / reps)
    assert abs(hits / reps - 0.9) < 3 * se


def test_survival_by_cohort_on_generated_data(small):
    life = activity_lifetimes(small.users, small.events, churn_days=28, cohort="device")
    assert len(life) == 3000 and life["churned"].any() and (~life["churned"]).any()
    km = survival_by_cohort(life)
    at = survival_at(km, days=(30,)).set_index("cohort")
    # engagement lifetimes differ by device in the generator: ios 1.15, web 0.8
    assert at.loc["ios", "S_30d"] > at.loc["web", "S_30d"]
    monthly = survival_by_cohort(activity_lifetimes(small.users, small.events))
    assert set(monthly["cohort"]) <= {f"2024-{m:02d}" for m in range(1, 8)}
    for _, g in monthly.groupby("cohort"):
        assert (np.diff(g["survival"].to_numpy()) <= 1e-12).all()


def test_seasonality_flat_on_generated_data_and_detected_when_present(small):
    flat = seasonality(small.orders, by="weekday")
    assert list(flat["weekday"]) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert flat.attrs["p_value"] > 0.001  # the generator has no weekly pattern
    assert (flat["index_lower_90"] < flat["index"]).all()
    # thin out weekend repeat orders: the test must see it
    o = small.orders
    first = o.groupby("user_id")["order_ts"].transform("min")
    weekend = o["order_ts"].dt.dayofweek >= 5
    rng = np.random.default_rng(1)
    drop = weekend & (o["order_ts"] > first) & (rng.random(len(o)) < 0.5)
    season = seasonality(o[~drop], by="weekday")
    assert season.attrs["p_value"] < 1e-6
    assert season.set_index("weekday").loc["Sat", "index_upper_90"] < 1
    monthly = seasonality(small.orders, by="month")
    assert monthly["month"].iloc[0] == "2024-01" and monthly.attrs["dof"] == len(monthly) - 1
    # the statistic is the usual Pearson chi-square
    o_ = monthly["repeat_orders"].to_numpy(float)
    e_ = monthly["customer_days"].to_numpy(float)
    e_ = e_ / e_.sum() * o_.sum()
    assert monthly.attrs["chi2"] == pytest.approx(stats.chisquare(o_, e_).statistic)


def test_as_of_before_every_signup_and_events_before_signup_refused(small):
    with pytest.raises(InputError, match="before every signup"):
        activity_lifetimes(small.users, small.events, as_of="2023-06-01")
    ev = small.events.copy()
    ev.loc[5, "event_ts"] = ev.loc[5, "event_ts"] - pd.Timedelta(days=400)
    with pytest.raises(InputError, match="before the user's signup") as e:
        activity_lifetimes(small.users, ev)
    assert e.value.rows == [7] and e.value.column == "event_ts"


# ---------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def files(small, tmp_path_factory):
    folder = tmp_path_factory.mktemp("g")
    write_growth_data(small, folder)
    return folder


def _run(argv, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code
    return code, capsys.readouterr()


def test_cli_survival_and_cohorts_write_folders(files, tmp_path, capsys):
    out = tmp_path / "s"
    code, cap = _run(
        ["growth", "survival", "--data", str(files), "--out", str(out), "--json"], capsys
    )
    assert code == 0, cap.err
    res = json.loads(cap.out)
    assert {"weekday", "month"} == set(res["seasonality"])
    assert {"survival.csv", "survival_at.csv", "survival.png", "manifest.json"} <= {
        p.name for p in out.iterdir()
    }
    out2 = tmp_path / "c"
    code, cap = _run(["growth", "cohorts", "--data", str(files), "--out", str(out2)], capsys)
    assert code == 0 and (out2 / "retention.csv").is_file() and (out2 / "retention.png").is_file()


def test_cli_growth_issue_11_refusals(files, small, tmp_path, capsys):
    out = tmp_path / "never"
    code, cap = _run(["growth", "generate", "--start", "2024-02-30", "--out", str(out)], capsys)
    assert code == 2 and "--start" in cap.err and "expected a date" in cap.err
    code, cap = _run(["growth", "generate", "--seed", "-1", "--out", str(out)], capsys)
    assert code == 2 and "--seed" in cap.err
    code, cap = _run(
        ["growth", "cohorts", "--data", str(files), "--as-of", "2023-01-01", "--out", str(out)],
        capsys,
    )
    assert code == 2 and "every cell of the cohort matrix would be empty" in cap.err
    bad = tmp_path / "bad"
    bad.mkdir()
    ev = small.events.copy()
    ev.loc[3, "event_ts"] = ev.loc[3, "event_ts"] - pd.Timedelta(days=400)
    write_growth_data(small.__class__(small.users, ev, small.orders, small.observation_end), bad)
    for verb in ("cohorts", "survival"):
        code, cap = _run(["growth", verb, "--data", str(bad), "--out", str(out)], capsys)
        assert code == 2, cap.err
        assert "events.csv" in cap.err and "'event_ts'" in cap.err and "rows 5" in cap.err
    assert not out.exists()
