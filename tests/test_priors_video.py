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
