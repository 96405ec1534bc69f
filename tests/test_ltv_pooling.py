"""The pooling study's data (issue 14): countries with their own BG/NBD + Gamma-Gamma truths,
GB and DE small, differing as much as the segment-spread prior expects."""

import numpy as np
import pytest

from bayes.ltv.pooling import COUNTRY_SHARES, SEGMENT_TRUTH


def test_segment_truths_differ_and_shares_make_small_segments():
    assert set(SEGMENT_TRUTH["country"]) == {"US", "MX", "CA", "GB", "DE"}
    assert sum(COUNTRY_SHARES) == pytest.approx(1.0)
    assert sum(s < 0.08 for s in COUNTRY_SHARES) == 2  # GB and DE are small at 8%
    rs = [t.get("r", 0.25) for t in SEGMENT_TRUTH["country"].values()]
    assert np.std(np.log(rs)) > 0.25  # countries differ as much as the spread prior expects
