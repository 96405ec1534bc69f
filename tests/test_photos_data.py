"""The synthetic photos_first_login_features table (seed 000 §2) and its validation."""

import numpy as np
import pandas as pd
import pytest

from bayes.io import InputError, write_table
from bayes.photos.data import (
    CHANNELS,
    CLIENTS,
    COUNT_COLUMNS,
    LEAD_FLAGS,
    PRIME_STATUSES,
    SCHEMA,
    TIERS,
    PhotosDGP,
    generate_photos,
    read_photos,
    validate_photos,
)


@pytest.fixture(scope="module")
def photos():
    return generate_photos(30_000, seed=3, return_latent=True)


def test_same_seed_same_table_and_other_seed_differs():
    a = generate_photos(3_000, seed=11)
    b = generate_photos(3_000, seed=11)
    c = generate_photos(3_000, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not a.drop(columns="customer_id").equals(c.drop(columns="customer_id"))


def test_any_size_and_one_row_per_customer():
    for n in (1, 17, 2_500):
        df = generate_photos(n, seed=0)
        assert len(df) == n
        assert df["customer_id"].is_unique
    with pytest.raises(ValueError, match="n_rows"):
        generate_photos(0)


def test_every_column_family_of_the_seed_and_schema_valid(photos):
    df = photos.drop(columns=["latent_type", "p_core_true"])
    assert [c.name for c in SCHEMA] == list(df.columns)
    out = validate_photos(df)
    assert len(out) == len(df)
    assert set(df["attrib_channel_type"]) == set(CHANNELS)
    assert set(df["attrib_client_tier"]) == set(TIERS)
    assert set(df["entry_client"]) == set(CLIENTS)
    assert set(df["prime_status_at_first_login"]) == set(PRIME_STATUSES)
    assert df["first_login_ts"].dt.tz is not None


def test_lead_any_is_the_or_of_the_lead_flags(photos):
    np.testing.assert_array_equal(
        photos["lead_any"].to_numpy(), photos[list(LEAD_FLAGS)].max(axis=1).to_numpy()
    )
    assert 0.05 < photos["lead_any"].mean() < 0.5


def test_outcomes_nest_core_engaged_acquired(photos):
    assert (photos["is_core_90d"] <= photos["is_engaged_90d"]).all()
    assert (photos["is_engaged_90d"] <= photos["is_acquired_90d"]).all()
    churn = photos.groupby("is_core_90d")["is_churned_90d"].mean()
    assert churn[1] < 0.1 < churn[0]
    assert (photos["prints_revenue_90d"] >= 0).all()


def test_counts_are_overdispersed_and_positively_correlated(photos):
    for col in COUNT_COLUMNS[:4]:
        x = photos[col]
        assert x.var() > 2 * x.mean(), col
    logs = np.log1p(photos[list(COUNT_COLUMNS[:4])])
    assert (logs.corr().to_numpy() > 0.3).all()


def test_platforms_coherent_with_entry_client(photos):
    assert photos["n_distinct_platforms_7d"].between(1, 5).all()
    assert (photos["n_app_launch_7d"] >= 1).all()
    plat = photos.groupby("entry_client")["n_distinct_platforms_7d"].mean()
    assert plat["PhotosWeb"] < plat["Desktop"] < min(plat["Android"], plat["iOS"])
    # push notifications need a mobile client
    web_only = (photos["entry_client"] == "PhotosWeb") & (photos["n_distinct_platforms_7d"] == 1)
    assert (
        photos.loc[web_only, "n_notifications_opened_7d"].mean()
        < 0.3 * photos.loc[~web_only, "n_notifications_opened_7d"].mean()
    )


def test_power_users_launch_30_plus_times_a_week(photos):
    launches = photos.groupby("latent_type")["n_app_launch_7d"].mean()
    assert launches["power_prime"] >= 30
    assert launches.idxmin() == "low_engaged"


def test_core_probability_follows_the_documented_drivers(photos):
    """The generating process has the documented directions: Prime above Trial and NonPrime
    (true probabilities), lead sources up, PhotosWeb entry down (observed rates)."""
    p = photos["p_core_true"]
    rate = photos.assign(p=p).groupby("prime_status_at_first_login")["p"].mean()
    assert rate["Prime"] > rate["Trial"] and rate["Prime"] > rate["NonPrime"]
    by_lead = photos.groupby("lead_any")["is_core_90d"].mean()
    assert by_lead[1] > by_lead[0]
    by_web = photos.groupby(photos["entry_client"] == "PhotosWeb")["is_core_90d"].mean()
    assert by_web[True] < by_web[False]


def test_params_are_a_frozen_record():
    p = PhotosDGP()
    with pytest.raises(AttributeError):
        p.sigma = 0.0  # type: ignore[misc]
    df = generate_photos(2_000, 0, params=PhotosDGP(sigma=0.0, b0=-20.0))
    assert df["is_core_90d"].mean() < 0.01


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_csv_and_parquet(tmp_path, suffix):
    df = generate_photos(500, seed=1)
    path = write_table(df, tmp_path / f"photos{suffix}")
    back = read_photos(path)
    assert list(back.columns) == list(df.columns)
    pd.testing.assert_frame_equal(
        back.drop(columns="first_login_ts"),
        df.drop(columns="first_login_ts"),
        check_dtype=False,
    )
    assert (back["first_login_ts"] == df["first_login_ts"]).all()


def _write(df, tmp_path, name="bad.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_missing_column_names_file_and_column(tmp_path):
    path = _write(generate_photos(50).drop(columns="n_app_launch_7d"), tmp_path)
    with pytest.raises(InputError) as err:
        read_photos(path)
    assert "n_app_launch_7d" in str(err.value) and str(path) in str(err.value)


def test_mistyped_column_is_rejected(tmp_path):
    df = generate_photos(50).astype({"n_upload_events_7d": object})
    df.loc[3, "n_upload_events_7d"] = "many"
    path = _write(df, tmp_path)
    with pytest.raises(InputError) as err:
        read_photos(path)
    assert err.value.column == "n_upload_events_7d"
    assert err.value.rows == [5]  # CSV line number (header on line 1)


def test_unknown_category_and_nan_target_are_rejected(tmp_path):
    df = generate_photos(50)
    df.loc[0, "entry_client"] = "Fax"
    with pytest.raises(InputError, match="entry_client"):
        read_photos(_write(df, tmp_path, "cat.csv"))
    df = generate_photos(50).astype({"is_core_90d": float})
    df.loc[7, "is_core_90d"] = np.nan
    with pytest.raises(InputError) as err:
        read_photos(_write(df, tmp_path, "nan.csv"))
    assert err.value.column == "is_core_90d"


def test_empty_file_is_rejected(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        read_photos(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(c.name for c in SCHEMA) + "\n")
    with pytest.raises(InputError, match="empty"):
        read_photos(header_only)


def test_generator_columns_are_the_model_features():
    """The generator (bayes) and the classifiers (models) each declare the column names, since
    importing models.core_activation pulls scikit-learn into ``bayes photos generate``; the two
    declarations must agree."""
    from models.core_activation import (
        BINARY_FEATURES,
        CATEGORICAL_FEATURES,
        COUNT_FEATURES,
        FEATURES,
        TARGET,
    )

    assert COUNT_COLUMNS == COUNT_FEATURES
    assert LEAD_FLAGS + ("lead_any",) == BINARY_FEATURES
    required = {c.name for c in SCHEMA if c.required}
    assert set(FEATURES) | {TARGET} <= required
    assert set(CATEGORICAL_FEATURES) <= {c.name for c in SCHEMA if c.allowed}
