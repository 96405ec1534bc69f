"""Pilot tables: validation names the row; the generator follows seed §7.1."""

import numpy as np
import pandas as pd
import pytest

from bayes.io import InputError
from bayes.video.data import generate_pilot, read_pilot, validate_pilot
from models.video.simulator import point_params, prior_draws, simulate_pilot_counts
from priors.video import VideoPriors


def _csv(tmp_path, df):
    path = tmp_path / "pilot.csv"
    df.to_csv(path, index=False)
    return path


def test_generator_layout_and_roundtrip(tmp_path):
    df = generate_pilot(1.2, 1.1, users_per_arm=2000, seed=3)
    assert list(df["segment"].unique()) == ["power_prime", "prime_mid"]  # seed §11 Phase 0
    assert list(df["arm"][:3]) == ["control", "integrated", "standalone"]
    assert (df.loc[df.arm == "control", "adopters"] == 0).all()
    assert (df["users"] == 2000).all()
    back = read_pilot(_csv(tmp_path, df))
    pd.testing.assert_frame_equal(back, validate_pilot(df), check_dtype=False)
    again = generate_pilot(1.2, 1.1, users_per_arm=2000, seed=3)
    pd.testing.assert_frame_equal(df, again)


def test_generator_matches_section_7_means():
    """Large pilot: adoption share, Core rate and usage per adopter match §7.1 expectations."""
    n = 400_000
    alpha, beta = 1.3, 1.2
    pr = VideoPriors()
    df = generate_pilot(alpha, beta, users_per_arm=n, seed=11, segments=None).set_index(
        ["segment", "arm"]
    )
    par = {k: v[0] for k, v in point_params(pr, alpha=alpha, beta=beta).items()}
    for c, seg in enumerate(pr.table.index):
        b = par["baseline"][c]
        ctrl = df.loc[(seg, "control")]
        assert abs(ctrl.core_90d / n - b) < 4 * np.sqrt(b * (1 - b) / n)
        for m, arm in enumerate(("integrated", "standalone")):
            row = df.loc[(seg, arm)]
            p, d = par["adoption"][c, m], par["uplift"][c, m]
            assert abs(row.adopters / n - p) < 4 * np.sqrt(p * (1 - p) / n)
            q = b + p * d
            assert abs(row.core_90d / n - q) < 4 * np.sqrt(q * (1 - q) / n)
            lam = par["sessions"][c, m]
            a = row.adopters
            assert abs(row.video_sessions_7d / a - lam) < 4 * np.sqrt(lam / a)
            # E[T | S] = S μ e^{σ²/2}
            mu = par["minutes"][c] * np.exp(pr.minutes_log_sd**2 / 2)
            ratio = row.video_minutes_7d / row.video_sessions_7d
            assert abs(ratio / mu - 1) < 0.01


def test_counts_vectorised_over_draws():
    params = prior_draws(VideoPriors(), 500, seed=1)
    out = simulate_pilot_counts(params, 1000, np.random.default_rng(0), ["prime_mid"])
    assert out["adopters"].shape == (500, 1, 3)
    assert (out["adopters"][:, :, 0] == 0).all()
    assert (out["core"] <= 1000).all()
    # α multiplies only the standalone column (seed §9)
    np.testing.assert_allclose(
        params["adoption"][:, :, 1],
        np.minimum(params["p_adopt"][:, :, 1] * params["alpha"][:, None], 1),
    )


def _good():
    return generate_pilot(1.0, 1.0, users_per_arm=500, seed=0)


@pytest.mark.parametrize(
    "mutate, column, row, needle",
    [
        (
            lambda d: d.__setitem__("adopters", d["adopters"].where(d.index != 1, 600)),
            "adopters",
            3,
            "exceeds users",
        ),
        (
            lambda d: d.__setitem__("core_90d", d["core_90d"].where(d.index != 4, 501)),
            "core_90d",
            6,
            "exceeds users",
        ),
        (
            lambda d: d.__setitem__("adopters", d["adopters"].where(d.index != 0, 5)),
            "adopters",
            2,
            "control",
        ),
        (
            lambda d: d.__setitem__("users", d["users"].where(d.index != 2, -1)),
            "users",
            4,
            "minimum",
        ),
        (
            lambda d: d.__setitem__("arm", d["arm"].where(d.index != 2, "holdout")),
            "arm",
            4,
            "holdout",
        ),
        (
            lambda d: d.__setitem__("segment", d["segment"].where(d.index != 5, "whales")),
            "segment",
            7,
            "whales",
        ),
        (
            lambda d: d.__setitem__("arm", d["arm"].where(d.index != 2, "integrated")),
            "arm",
            3,
            "duplicate",
        ),
    ],
)
def test_validation_names_file_column_row(tmp_path, mutate, column, row, needle):
    df = _good()
    mutate(df)
    path = _csv(tmp_path, df)
    with pytest.raises(InputError, match=needle) as err:
        read_pilot(path)
    assert err.value.column == column
    assert row in err.value.rows
    assert str(path) in str(err.value)


def test_validation_usage_rules(tmp_path):
    df = _good()
    df.loc[0, "video_sessions_7d"] = 10
    with pytest.raises(InputError, match="without adopters"):
        validate_pilot(df)
    df = _good()
    df.loc[1, "video_sessions_7d"] = np.nan
    with pytest.raises(InputError, match="video_sessions_7d"):
        validate_pilot(df)
    df = _good().drop(columns=["video_sessions_7d", "video_minutes_7d"])
    assert len(validate_pilot(df)) == 6  # usage is optional


def test_subset_and_order():
    df = generate_pilot(1.0, 1.0, users_per_arm=300, seed=1, segments=["mixed_mid"])
    shuffled = df.iloc[[2, 0, 1]].reset_index(drop=True)
    out = validate_pilot(shuffled)
    assert list(out["arm"]) == ["control", "integrated", "standalone"]
    with pytest.raises(InputError, match="unknown segment"):
        generate_pilot(1.0, 1.0, 100, 0, segments=["nope"])
    with pytest.raises(InputError, match="alpha"):
        generate_pilot(-1.0, 1.0, 100, 0)
