"""LTV workflow: input validation, lifetimes RFM, per-customer predictions, holdout, CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from bayes.cli import main
from bayes.growth.data import generate_growth_data, write_growth_data
from bayes.growth.ltv import (
    cdnow_summary,
    cdnow_transactions,
    evaluate_holdout,
    load_transactions,
    rfm_summary,
    validate_summary,
)
from bayes.io import InputError


def test_validate_summary_names_bad_rows():
    s = pd.DataFrame({"frequency": [1, 2, 0], "recency": [3.0, 9.0, 0.0], "T": [5.0, 8.0, 4.0]})
    with pytest.raises(InputError, match="recency exceeds T") as e:
        validate_summary(s)
    assert e.value.rows == [1]
    s2 = s.assign(recency=[3.0, 2.0, 0.0], frequency=[1, -1, 0])
    with pytest.raises(InputError, match="below the minimum") as e:
        validate_summary(s2)
    assert e.value.column == "frequency"
    s3 = s.assign(recency=[3.0, 2.0, 1.0])
    with pytest.raises(InputError, match="recency must be 0"):
        validate_summary(s3)


def test_rfm_from_cdnow_transactions_matches_shipped_summary():
    tx = cdnow_transactions()
    s, hold = rfm_summary(tx, calibration_end="1997-09-30", holdout_end="1998-06-30")
    ref = cdnow_summary()
    assert len(s) == len(ref) == 2357
    s = s.loc[ref.index]
    np.testing.assert_array_equal(s.frequency.to_numpy(), ref.frequency.to_numpy())
    np.testing.assert_allclose(s.recency.to_numpy(), ref.recency.to_numpy(), atol=0.006)
    np.testing.assert_allclose(s["T"].to_numpy(), ref["T"].to_numpy(), atol=0.006)
    assert hold.duration_holdout.iloc[0] == pytest.approx(39.0)


def test_load_transactions_accepts_orders_and_rejects_bad_files(tmp_path):
    data = generate_growth_data(300, seed=1)
    paths = write_growth_data(data, tmp_path)
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


def test_cli_ltv_fit_end_to_end(tmp_path, capsys):
    import arviz as az

    data = generate_growth_data(1500, seed=4)
    paths = write_growth_data(data, tmp_path / "data")
    out = tmp_path / "fit"
    code = main(
        [
            "ltv",
            "fit",
            "--transactions",
            str(paths["orders"]),
            "--calibration-end",
            "2024-10-01",
            "--out",
            str(out),
            "--draws",
            "150",
            "--tune",
            "150",
            "--chains",
            "2",
            "--json",
        ]
    )
    assert code == 0
    res = json.loads(capsys.readouterr().out)
    assert {"posterior.nc", "ltv.csv", "summary.json", "holdout.png"} <= set(res["files"])
    assert {p["parameter"] for p in res["parameters"]} == {"r", "alpha", "a", "b", "p", "q", "v"}
    assert {"mape_customer", "wmape_customer", "wmape_aggregate_bins"} <= set(res["holdout"])
    assert "ok" in res["diagnostics"]
    idata = az.from_netcdf(out / "posterior.nc")
    assert {"posterior", "prior", "posterior_predictive", "observed_data"} <= set(idata.groups())
    assert json.loads(idata.attrs["priors"])["r"]["dist"] == "LogNormal"
    assert idata.attrs["seed"] == 0 and "data_hash" in idata.attrs
    table = pd.read_csv(out / "ltv.csv")
    for k in ("exp_purchases", "p_alive", "ltv_6m", "ltv_12m"):
        assert (table[f"{k}_lo"] <= table[f"{k}_mean"] + 1e-9).all()
        assert (table[f"{k}_mean"] <= table[f"{k}_hi"] + 1e-9).all()
    assert (table.ltv_12m_mean >= table.ltv_6m_mean).all()
    assert table.p_alive_hi.max() <= 1.0


def test_cli_ltv_bad_input_exits_2(tmp_path, capsys):
    bad = tmp_path / "tx.csv"
    bad.write_text("customer_id,date\n1,2024-01-01\n2,\n")
    assert main(["ltv", "fit", "--transactions", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "rows 3" in capsys.readouterr().err
