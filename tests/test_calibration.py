import numpy as np
import pandas as pd

from bayes.calibration import sbc_rank, sbc_uniformity


def test_rank_counts_draws_below_truth():
    assert sbc_rank([0.1, 0.5, 0.9, 0.3], 0.4) == 2


def test_uniformity_accepts_a_calibrated_and_rejects_an_overconfident_posterior(rng):
    L, reps = 99, 400
    # calibrated: the truth is one more exchangeable draw -> its rank is uniform on 0..L
    good = [sbc_rank(rng.normal(size=L), rng.normal()) for _ in range(reps)]
    # over-confident: posterior sd half the truth's -> ranks pile up at both ends
    bad = [sbc_rank(rng.normal(scale=0.5, size=L), rng.normal()) for _ in range(reps)]
    ranks = pd.DataFrame({"good_rank": good, "bad_rank": bad, "L": L})
    res = sbc_uniformity(ranks, ("good", "bad"), bins=10)
    assert res["good"]["p_value"] > 0.001 and res["good"]["ks_p_value"] > 0.001
    assert res["bad"]["p_value"] < 1e-6 and res["bad"]["outer_10pct"] > 0.3
    assert abs(res["good"]["outer_10pct"] - 0.1) < 4 * np.sqrt(0.09 / reps)
