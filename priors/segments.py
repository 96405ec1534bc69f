"""The four Photos customer segments of seed 000 §4, as one reviewed table.

``share`` (fraction of the active base) and ``baseline_core_90d`` (b_c) are the values measured
on the default synthetic Photos dataset (200,000 rows, seed 0) by the K-means segmentation in
:mod:`models.core_activation`; a test checks the two agree. They feed the video priors
(:mod:`priors.video`), and :func:`segments_from_table` swaps in the values measured on any
other dataset.

The seed keeps K-means cluster ids 0, 2, 3, 1 for the four labels; so do we.
"""

from __future__ import annotations

import pandas as pd

from priors.spec import PriorError

#: coordinate values of the ``segment`` dimension, in the seed's table order
SEGMENT_KEYS: tuple[str, ...] = ("power_prime", "prime_mid", "mixed_mid", "low_engaged")

SEGMENTS = pd.DataFrame(
    {
        "segment": list(SEGMENT_KEYS),
        "cluster": [0, 2, 3, 1],
        "label": [
            "Power Prime viewers",
            "Prime mid-engaged",
            "Mixed mid-engaged",
            "Low-engaged NonPrime/Trial",
        ],
        "share": [0.15, 0.22, 0.25, 0.38],
        "baseline_core_90d": [0.68, 0.50, 0.38, 0.18],
        # clusters 0, 2, 3 are the high-engagement base simulated in seed §7
        "high_engagement": [True, True, True, False],
    }
).set_index("segment")

#: the active base of seed §7 ("a hypothetical 24M active base")
ACTIVE_BASE = 24_000_000


def segments_from_table(table: pd.DataFrame) -> pd.DataFrame:
    """Validate a measured segment table (index or column ``segment``; columns ``share``,
    ``baseline_core_90d``) and return it in the canonical layout of :data:`SEGMENTS`."""
    t = table.set_index("segment") if "segment" in table.columns else table
    unknown = sorted(set(map(str, t.index)) - set(SEGMENT_KEYS))
    if unknown:
        raise PriorError(f"unknown segment(s) {unknown}; expected {list(SEGMENT_KEYS)}")
    missing = [s for s in SEGMENT_KEYS if s not in t.index]
    if missing:
        raise PriorError(f"segment table lacks {missing}")
    out = SEGMENTS.copy()
    for col in ("share", "baseline_core_90d"):
        if col not in t.columns:
            raise PriorError(f"segment table lacks column {col!r}")
        vals = t.loc[list(SEGMENT_KEYS), col].astype(float)
        bad = vals[(vals < 0) | (vals > 1)]
        if len(bad):
            raise PriorError(f"{col} must lie in [0, 1]; bad entries {bad.to_dict()}")
        out[col] = vals.to_numpy()
    total = out["share"].sum()
    if abs(total - 1) > 1e-6:
        raise PriorError(f"segment shares must sum to 1, got {total:.6f}")
    return out
