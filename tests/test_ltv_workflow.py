"""LTV workflow: input validation, the monetary policy, lifetimes RFM in explicit units, the
holdout and the survival/GLM path, and ``bayes ltv fit`` end to end (with the issue-11 cases:
exit 2 naming file, column and rows, nothing written)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main
from bayes.growth.data import generate_growth_data, write_growth_data
from bayes.io import InputError
from bayes.ltv.data import (
    MonetaryPolicyWarning,
    apply_monetary_policy,
    cdnow_master_transactions,
    cdnow_summary,
    cdnow_transactions,
    load_transactions,
    read_rfm,
    rfm_summary,
    validate_rfm,
)
from bayes.ltv.evaluate import evaluate_holdout, glm_holdout_predictions
from bayes.outputs import MANIFEST

DRAWS = ["--draws", "100", "--tune", "150", "--chains", "2", "--predict-draws", "50"]


@pytest.fixture(scope="module")
def growth(tmp_path_factory):
    folder = tmp_path_factory.mktemp("growth")
    data = generate_growth_data(1500, seed=4)
    return data, write_growth_data(data, folder)


def test_validate_rfm_names_bad_rows():
    s = pd.DataFrame({"frequency": [1, 2, 0], "recency": [3.0, 9.0, 0.0], "T": [5.0, 8.0, 4.0]})
    with pytest.raises(InputError, match="recency exceeds T") as e:
        validate_rfm(s)
    assert e.value.rows == [3]  # CSV line of the second data row
    s2 = s.assign(recency=[3.0, 2.0, 0.0], frequency=[1, -1, 0])
    with pytest.raises(InputError, match="below the minimum") as e:
        validate_rfm(s2)
    assert e.value.column == "frequency"
    with pytest.raises(InputError, match="recency must be 0"):
        validate_rfm(s.assign(recency=[3.0, 2.0, 1.0]))
    with pytest.raises(InputError, match="finite"):
        validate_rfm(s.assign(recency=[3.0, 2.0, 0.0], T=[5.0, np.inf, 4.0]))
    with pytest.raises(InputError, match="below the minimum") as e:
        validate_rfm(s.assign(recency=[3.0, 2.0, 0.0], monetary_value=[1.0, -2.0, 0.0]))
    assert e.value.column == "monetary_value"
    with pytest.warns(MonetaryPolicyWarning, match="1 customers with repeat purchases"):
        validate_rfm(s.assign(recency=[3.0, 2.0, 0.0], monetary_value=[0.0, 2.0, 0.0]))


def test_rfm_from_cdnow_transactions_matches_shipped_summary_in_weeks_and_days():
    tx = cdnow_transactions()
    with pytest.warns(MonetaryPolicyWarning, match="8 zero-value orders"):
        tx, policy = apply_monetary_policy(tx)
    s, hold = rfm_summary(tx, calibration_end="1997-09-30", holdout_end="1998-06-30")
    ref = cdnow_summary()
    assert len(s) == len(ref) == 2357 and s.attrs["time_unit"] == "week"
    s = s.loc[ref.index]
    np.testing.assert_array_equal(s.frequency.to_numpy(), ref.frequency.to_numpy())
    np.testing.assert_allclose(s.recency.to_numpy(), ref.recency.to_numpy(), atol=0.006)
    np.testing.assert_allclose(s["T"].to_numpy(), ref["T"].to_numpy(), atol=0.006)
    assert hold.duration_holdout.iloc[0] == pytest.approx(39.0)
    d, hold_d = rfm_summary(
        tx, calibration_end="1997-09-30", holdout_end="1998-06-30", time_unit="D"
    )
    d = d.loc[ref.index]
    assert d.attrs["time_unit"] == "day"
    np.testing.assert_allclose(d["T"].to_numpy(), 7 * s["T"].to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(d["recency"].to_numpy(), 7 * s["recency"].to_numpy(), rtol=1e-12)
    assert hold_d.duration_holdout.iloc[0] == pytest.approx(273.0)
    mo, _ = rfm_summary(tx, calibration_end="1997-09-30", time_unit="M")
    np.testing.assert_allclose(mo.loc[ref.index, "T"], s["T"] * 7 / (365.25 / 12), rtol=1e-12)


def _log(rows):
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).assign(
        date=lambda d: pd.to_datetime(d["date"])
    )


def test_monetary_policy_on_zero_and_negative_amounts():
    tx = _log(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-05", 0.0),  # free repeat purchase: counts, no spend
            ("a", "2024-01-09", 30.0),
            ("a", "2024-01-10", -30.0),  # refund: dropped
            ("b", "2024-01-02", 0.0),  # only free orders
            ("b", "2024-01-06", 0.0),
            ("c", "2024-01-03", -5.0),  # only a refund: gone
            ("d", "2024-01-03", 20.0),
            ("d", "2024-01-08", 12.0),
        ]
    )
    with pytest.warns(MonetaryPolicyWarning) as rec:
        kept, rep = apply_monetary_policy(tx, source="log.csv")
    msg = str(rec[0].message)
    assert "2 rows with a negative amount" in msg and "3 zero-value orders" in msg
    assert "1 customers have only free orders" in msg and msg.startswith("log.csv")
    assert rep == {
        "negative_rows_dropped": 2,
        "zero_value_rows": 3,
        "zero_value_first_purchase_rows": 1,
        "customers_only_zero_value": 1,
        "customers_dropped": 1,
    }
    s, _ = rfm_summary(kept, observation_end="2024-01-15", time_unit="D")
    assert list(s.index) == ["a", "b", "d"]
    assert s.loc["a"].tolist() == [2.0, 8.0, 14.0, 30.0, 1.0]  # freq, rec, T, m, x_spend
    assert s.loc["b", "frequency"] == 1 and s.loc["b", "spend_frequency"] == 0
    assert s.loc["d", "monetary_value"] == 12.0
    from models.ltv import LTVModel

    prep = LTVModel(time_unit="D")._prepare(s)
    assert prep.paid_share == pytest.approx(2 / 4)  # 2 positive of 4 repeat purchases
    # without zeros the monetary value is lifetimes' own
    clean = kept[kept.amount > 0]
    s2, _ = rfm_summary(clean, observation_end="2024-01-15")
    assert (s2["spend_frequency"] == s2["frequency"]).all()


def test_cdnow_master_log_zero_values_handled_without_error():
    """lifetimes ships CDNOW_master.txt: 80 zero-value rows (72 on first-purchase days, 8 on
    repeat days), 68 customers with only free orders. The policy applies; RFM and the model's
    data preparation go through."""
    from models.ltv import LTVModel

    tx = cdnow_master_transactions()
    assert len(tx) == 69_659 and tx.customer_id.nunique() == 23_570
    with pytest.warns(MonetaryPolicyWarning):
        kept, rep = apply_monetary_policy(tx)
    assert rep["zero_value_rows"] == 80 and rep["zero_value_first_purchase_rows"] == 72
    assert rep["customers_only_zero_value"] == 68
    s, hold = rfm_summary(kept, calibration_end="1997-09-30", holdout_end="1998-06-30")
    assert len(s) == 23_570
    prep = LTVModel()._prepare(s)
    assert prep.spend.n_unique > 0 and 0.99 < prep.paid_share <= 1


def test_load_transactions_accepts_orders_and_rejects_bad_files(growth, tmp_path):
    _, paths = growth
    tx = load_transactions(paths["orders"])
    assert list(tx.columns) == ["customer_id", "date", "amount"]
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,order_ts,amount\n1,2024-01-01,5\n2,not a date,3\n")
    with pytest.raises(InputError, match="timestamp") as e:
        load_transactions(bad)
    assert e.value.rows == [3]
    nocol = tmp_path / "nocol.csv"
    nocol.write_text("who,amount\n1,5\n")
    with pytest.raises(InputError, match="customer id"):
        load_transactions(nocol)


def test_evaluate_holdout_metrics_by_hand():
    pred = pd.DataFrame(
        {
            "frequency_cal": [0, 0, 1, 2],
            "actual": [0.0, 2.0, 1.0, 1.0],
            "predicted": [0.5, 1.0, 1.0, 2.0],
        }
    )
    m = evaluate_holdout(pred, max_bin=2)
    assert m["mape_customer"] == pytest.approx((0.5 + 0 + 1) / 3)
    assert m["wmape_customer"] == pytest.approx((0.5 + 1 + 0 + 1) / 4)
    # bins: 0 -> totals actual 2, predicted 1.5; 1 -> 1 vs 1; 2+ -> 1 vs 2
    assert m["wmape_aggregate_bins"] == pytest.approx((0.5 + 0 + 1) / 4)
    assert m["ape_total"] == pytest.approx(0.5 / 4)


def test_survival_glm_path_learns_from_the_calibration_period(growth):
    data, paths = growth
    tx, _ = apply_monetary_policy(load_transactions(paths["orders"]))
    end = tx["date"].max().floor("D")
    g = glm_holdout_predictions(tx, calibration_end=end - pd.Timedelta(days=60))
    coef = g.attrs["coefficients"]
    # more past purchases, more future ones; a long silence (low recency share) fewer
    assert coef["survival_logit"]["log1p_frequency"] > 0
    assert coef["survival_logit"]["recency_share"] > 0
    assert (g["predicted"] >= 0).all() and g["predicted"].sum() > 0
    with pytest.raises(InputError, match="longer than the holdout"):
        glm_holdout_predictions(tx, calibration_end=tx["date"].min() + pd.Timedelta(days=30))


def test_cli_ltv_fit_segments_holdout_priors_json(growth, tmp_path, capsys):
    import arviz as az

    import bayes

    _, paths = growth
    pri = tmp_path / "priors.toml"
    pri.write_text('[r]\ndist = "LogNormal"\nmedian = 0.3\ninterval = [0.1, 0.9]\n')
    out = tmp_path / "fit"
    args = [
        "ltv",
        "fit",
        "--transactions",
        str(paths["orders"]),
        "--customers",
        str(paths["users"]),
    ]
    args += ["--segment", "device", "--holdout-days", "60", "--priors", str(pri), "--json"]
    # independent segments: the CLI's segment path without the hierarchy's cost (partial
    # pooling is fitted by tests/test_ltv_model.py's segmented fixture and notebook 05)
    args += ["--pooling", "none"]
    code = main([*args, "--out", str(out), *DRAWS])
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    expected = {"posterior.nc", "ltv.csv", "summary.json", "parameters.csv", "priors.csv"}
    expected |= {"holdout.png", "holdout_comparison.csv", "segments.csv", "p_alive_matrix.png"}
    assert expected <= set(res["files"])
    assert (out / MANIFEST).is_file()
    assert res["time_unit"] == "week" and res["segment"] == "device"
    assert {r["method"] for r in res["holdout"]["comparison"]} == {"BG/NBD + Bayes", "survival/GLM"}
    assert res["holdout"]["duration"] == pytest.approx(60 / 7)
    assert {s["segment"] for s in res["segments"]} == {"android", "ios", "web"}
    assert res["priors"]["priors"]["r"]["statement"]  # the stated belief, fitted
    assert "ltv_12m" in res["per_customer"] and "lower_90" in res["per_customer"]["ltv_12m"]
    assert "90% interval" in res["headline"]
    model = bayes.load(out / "posterior.nc")
    assert model.segment == "device" and model.time_unit == "week"
    # independent segments have no population median: the P(alive) plot shows the largest
    largest = model.data_["device"].astype(str).value_counts().idxmax()
    assert model.p_alive_matrix(draws=10).attrs["segment"] == largest
    idata = az.from_netcdf(out / "posterior.nc")
    assert idata.attrs["domain"] == "ltv" and idata.attrs["time_unit"] == "week"
    table = pd.read_csv(out / "ltv.csv")
    for k in ("p_alive", "expected_purchases", "ltv_6m", "ltv_12m"):
        assert (table[f"{k}_lower_90"] <= table[f"{k}_mean"] + 1e-9).all()
        assert (table[f"{k}_mean"] <= table[f"{k}_upper_90"] + 1e-9).all()
    assert {"customer_id", "device", "holdout_actual", "holdout_predicted"} <= set(table.columns)
    assert table.p_alive_upper_90.max() <= 1.0


def test_cli_ltv_fit_rfm_file_needs_and_carries_the_time_unit(tmp_path, capsys):
    rng = np.random.default_rng(1)
    from models.ltv import simulate_bgnbd

    T = rng.integers(30, 365, 800).astype(float)  # days
    x, tx = simulate_bgnbd(rng, 0.3, 28.0, 0.8, 2.5, T)
    rfm = tmp_path / "rfm.csv"
    pd.DataFrame(
        {"customer_id": np.arange(800), "frequency": x, "recency": np.floor(tx), "T": T}
    ).to_csv(rfm, index=False)
    out = tmp_path / "o"
    assert main(["ltv", "fit", "--rfm", str(rfm), "--out", str(out), *DRAWS]) == 2
    assert "--time-unit" in capsys.readouterr().err and not out.exists()
    # --surrogate on: exact draws through surrogate trajectories, the acceptance reported
    argv = ["ltv", "fit", "--rfm", str(rfm), "--time-unit", "D", "--surrogate", "on"]
    assert main([*argv, "--out", str(out), *DRAWS]) == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["time_unit"] == "day" and s["model"] == "BG/NBD"
    accept = s["diagnostics"]["surrogate_acceptance"]
    assert 0 < accept <= 1 and s["trajectories"]["acceptance"] == pytest.approx(accept, abs=1e-4)
    assert "surrogate acceptance" in capsys.readouterr().out
    import arviz as az

    assert az.from_netcdf(out / "posterior.nc").attrs["time_unit"] == "day"
    rfm_df = read_rfm(rfm)
    assert rfm_df.index.name == "customer_id" and len(rfm_df) == 800


def test_cli_show_priors_prints_table_and_prior_predictive(capsys):
    assert main(["ltv", "fit", "--dataset", "cdnow", "--show-priors", "--time-unit", "D"]) == 0
    out = capsys.readouterr().out
    assert "alpha" in out and "days" in out
    assert "12-month discounted LTV of a new customer" in out
    assert main(["ltv", "fit", "--show-priors", "--json", "--segment", "x"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert {p["name"] for p in res["priors"]} >= {"r_segment_sd", "v_segment_sd"}


# ---------------------------------------------------------------------------- issue 11


def _exit2(argv, capsys, *needles):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refusals
            code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    for n in needles:
        assert n in err, (n, err)
    return err


@pytest.mark.parametrize(
    "flags, needles",
    [
        (["--discount-rate", "-1"], ["--discount-rate", "must be >= 0"]),
        (["--draws", "0"], ["--draws", "must be >= 1"]),
        (["--seed", "-1"], ["--seed", "must be >= 0"]),
        (["--calibration-end", "2024-13-45"], ["--calibration-end", "expected a date"]),
        (["--calibration-end", "someday"], ["--calibration-end", "expected a date"]),
        (["--calibration-end", "2030-01-01"], ["nothing is left to hold out"]),
        (["--calibration-end", "1990-01-01"], ["no transactions on or before"]),
    ],
)
def test_cli_ltv_impossible_flags_exit_2_and_write_nothing(
    growth, tmp_path, capsys, flags, needles
):
    _, paths = growth
    out = tmp_path / "never"
    _exit2(
        ["ltv", "fit", "--transactions", str(paths["orders"]), "--out", str(out), *flags],
        capsys,
        *needles,
    )
    assert not out.exists()


def test_cli_ltv_inf_amount_on_a_first_order_exits_2(tmp_path, capsys):
    bad = tmp_path / "tx.csv"
    bad.write_text("customer_id,date,amount\n1,2024-01-01,inf\n1,2024-02-01,5\n2,2024-01-03,4\n")
    out = tmp_path / "o"
    _exit2(
        ["ltv", "fit", "--transactions", str(bad), "--out", str(out)],
        capsys,
        str(bad),
        "'amount'",
        "rows 2",
        "finite",
    )
    assert not out.exists()
    missing = tmp_path / "tx2.csv"
    missing.write_text("customer_id,date\n1,2024-01-01\n2,\n")
    _exit2(["ltv", "fit", "--transactions", str(missing), "--out", str(out)], capsys, "rows 3")
    assert not out.exists()
