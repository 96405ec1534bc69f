import json

import numpy as np
import pandas as pd
import pytest

from priors import PriorError
from priors.segments import SEGMENT_KEYS
from priors.video import MODES, VideoPriors, build_video_model, load_video_table


def test_seed_tables_are_the_declaration():
    t = load_video_table()
    # seed §6.1 and §6.2, in the seed's segment order (clusters 0, 2, 3, 1)
    np.testing.assert_allclose(t["p_adopt_integrated"], [0.70, 0.50, 0.40, 0.20])
    np.testing.assert_allclose(t["p_adopt_standalone"], [0.50, 0.35, 0.25, 0.10])
    np.testing.assert_allclose(t["mean_sessions_integrated"], [7.0, 5.0, 4.0, 2.0])
    np.testing.assert_allclose(t["mean_sessions_standalone"], [6.0, 4.0, 3.0, 1.5])
    np.testing.assert_allclose(t["mean_minutes_per_session"], [4.0, 3.5, 3.0, 2.5])
    # §6.3: a few percentage points, not doubling retention
    assert (t[["delta_integrated", "delta_standalone"]].to_numpy() < 0.1).all()


def test_closed_form_means_match_seed_section_8():
    p = VideoPriors()
    assert p.active_base == 24_000_000  # seed §7: "a hypothetical 24M active base"
    assert p.n_high == round(24_000_000 * p.shares[p.high_engagement].sum())
    hi = p.high_engagement
    pi = p.shares[hi] / p.shares[hi].sum()
    means = p.n_high * (pi[:, None] * p.by_mode("p_adopt")[hi] * p.by_mode("delta")[hi]).sum(0)
    assert abs(means[0] - 306_000) / 306_000 < 0.01
    assert abs(means[1] - 248_000) / 248_000 < 0.01


def test_model_has_named_dims_and_point_variant():
    import pymc as pm

    model = build_video_model(VideoPriors())
    assert model.named_vars_to_dims["adoption"] == ("segment", "mode")
    assert list(model.coords["segment"]) == list(SEGMENT_KEYS)
    assert list(model.coords["mode"]) == list(MODES)
    alpha, adoption, p_adopt = pm.draw(
        [model["alpha"], model["adoption"], model["p_adopt"]], draws=200, random_seed=3
    )
    np.testing.assert_allclose(adoption[:, :, 0], p_adopt[:, :, 0])
    np.testing.assert_allclose(adoption[:, :, 1], np.minimum(p_adopt[:, :, 1] * alpha[:, None], 1))
    point = build_video_model(VideoPriors().as_point())
    d = pm.draw(point["uplift"], draws=2, random_seed=1)
    np.testing.assert_allclose(d[0], VideoPriors().by_mode("delta"))


def test_roundtrip_json():
    p = VideoPriors(adoption_concentration=25)
    q = VideoPriors.from_dict(json.loads(p.to_json()))
    assert q.to_dict() == p.to_dict()


@pytest.mark.parametrize(
    "column, segment, value, needle",
    [
        ("p_adopt_standalone", "prime_mid", 1.3, "p_adopt_standalone[prime_mid]"),
        ("mean_sessions_integrated", "mixed_mid", -2.0, "mean_sessions_integrated[mixed_mid]"),
    ],
)
def test_invalid_entries_are_named(column, segment, value, needle):
    t = load_video_table().copy()
    t.loc[segment, column] = value
    with pytest.raises(PriorError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        VideoPriors(table=t)


def test_unknown_segment_is_named():
    t = load_video_table().reset_index()
    t.loc[0, "segment"] = "whales"
    with pytest.raises(PriorError, match="whales"):
        VideoPriors(table=t)
    with pytest.raises(PriorError, match="shares must sum to 1"):
        VideoPriors().with_segments(
            pd.DataFrame(
                {"segment": list(SEGMENT_KEYS), "share": [0.5] * 4, "baseline_core_90d": [0.2] * 4}
            )
        )


# ----------------------------------------------------------------- the one container


def test_declarations_are_the_video_prior_set():
    from priors.spec import REVIEW_COLUMNS, PriorSet

    ps = VideoPriors().declarations()
    assert isinstance(ps, PriorSet) and ps.domain == "video"
    assert list(ps) == ["baseline", "p_adopt", "sessions", "minutes", "delta", "alpha", "beta"]
    assert ps.coords == {"segment": list(SEGMENT_KEYS), "mode": list(MODES)}
    table = VideoPriors().summary()
    assert tuple(table.columns) == REVIEW_COLUMNS
    # one row per scalar belief, labelled by its coords, with the Beta's own mean
    row = table[(table["name"] == "p_adopt") & (table["coords"] == "prime_mid, standalone")]
    assert row["mean"].item() == pytest.approx(0.35)
    assert (table["description"] != "").all()
    # the JSON every posterior stores round-trips
    assert PriorSet.from_json(ps.to_json()) == ps


def test_point_variant_is_the_table_and_multipliers_at_one():
    pt = VideoPriors().as_point().declarations()
    assert {p.dist for p in pt.values()} == {"Point"}
    np.testing.assert_array_equal(pt["p_adopt"].params["value"], VideoPriors().by_mode("p_adopt"))
    assert pt["alpha"].params["value"] == 1.0 and pt["beta"].params["value"] == 1.0


def test_a_belief_stated_as_an_interval_overrides_one_entry(tmp_path):
    """α stated as median 1.1 and 90% between 0.88 and 1.375 (a LogNormal's median is the
    geometric mean of a central interval, so the three agree), in TOML: fitted by
    from_interval, the rest unchanged, dims inherited, the point variant at the median."""
    f = tmp_path / "alpha.toml"
    f.write_text('[alpha]\ndist = "LogNormal"\nmedian = 1.1\ninterval = [0.88, 1.375]\n')
    p = VideoPriors.from_file(f)
    a = p.declarations()["alpha"]
    assert a.dist == "LogNormal" and a.fit_report()["max_probability_gap"] < 1e-9
    np.testing.assert_allclose(a.interval(0.9), [0.88, 1.375])
    assert a.median() == pytest.approx(1.1)
    assert p.declarations()["beta"] == VideoPriors().declarations()["beta"]
    assert p.as_point().declarations()["alpha"].params["value"] == pytest.approx(a.median())
    # an override without dims takes the entry's dims; a wrong shape is named
    q = VideoPriors().with_overrides(
        {"p_adopt": {"dist": "Beta", "params": {"alpha": 2, "beta": 3}}}
    )
    assert q.declarations()["p_adopt"].dims == ("segment", "mode")
    with pytest.raises(PriorError, match="p_adopt.*shape"):
        VideoPriors().with_overrides(
            {"p_adopt": {"dist": "Beta", "params": {"alpha": [1, 2, 3], "beta": 3}}}
        )
    with pytest.raises(PriorError, match="unknown video prior 'gamma'"):
        VideoPriors().with_overrides({"gamma": {"dist": "Normal", "params": {"sigma": 1}}})
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"alpha": {"dist": "LogNormal", "interval": [2, 1]}}))
    with pytest.raises(PriorError, match=str(bad).replace("\\", "\\\\")):
        VideoPriors.from_file(bad)


def test_duplicated_segment_names_column_and_rows(tmp_path):
    t = load_video_table().reset_index()
    t = pd.concat([t, t.iloc[[1]]], ignore_index=True)
    f = tmp_path / "dup.csv"
    t.to_csv(f, index=False)
    with pytest.raises(PriorError) as err:
        VideoPriors.from_file(f)
    msg = str(err.value)
    assert str(f) in msg and "column 'segment'" in msg and "rows 3, 6" in msg
    assert "prime_mid" in msg


def test_one_transform_on_numpy_and_pytensor():
    """standalone_multipliers gives the same numbers on arrays and in the PyTensor graph."""
    import pytensor.tensor as pt

    from priors.video import standalone_multipliers

    rng = np.random.default_rng(0)
    p = rng.uniform(0.2, 0.9, (3, 4, 2))
    d = rng.normal(0.05, 0.01, (3, 4, 2))
    a, b = np.array([0.9, 1.5, 2.5]), np.array([1.0, 1.2, 0.8])
    adopt, up = standalone_multipliers(p, d, a, b)
    np.testing.assert_array_equal(adopt[..., 0], p[..., 0])  # integrated untouched
    np.testing.assert_allclose(adopt[..., 1], np.minimum(p[..., 1] * a[:, None], 1.0))
    np.testing.assert_allclose(up[..., 1], d[..., 1] * b[:, None])
    raw, _ = standalone_multipliers(p, d, a, b, cap=False)
    assert raw.max() > 1  # the pilot likelihood needs to see α·p > 1
    tp, td, ta, tb = pt.tensor3("p"), pt.tensor3("d"), pt.vector("a"), pt.vector("b")
    sym = standalone_multipliers(tp, td, ta, tb)
    import pytensor

    fn = pytensor.function([tp, td, ta, tb], list(sym))
    got = fn(p, d, a, b)
    np.testing.assert_allclose(got[0], adopt)
    np.testing.assert_allclose(got[1], up)
