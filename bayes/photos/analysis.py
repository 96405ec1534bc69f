"""Part B of seed 000 end to end: validate the table, fit the baselines, read the drivers, rank
by decile, check calibration and segment the base.

:func:`analyze` is what the CLI (``bayes photos fit``), the demo report and the notebook call;
:meth:`PhotosAnalysis.to_dict` is the ``--json`` payload.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bayes.io import data_hash
from bayes.photos.data import validate_photos
from models.core_activation import (
    BaselineResult,
    CoreSegmenter,
    calibration_table,
    drivers,
    fit_baselines,
    lift_by_decile,
    segment_table,
)

__all__ = ["PhotosAnalysis", "analyze", "seed_drivers_check"]

#: expected driver signs of seed §3.2 (logistic coefficient names)
SEED_DRIVER_SIGNS: dict[str, int] = {
    "prime_status_at_first_login_Prime": +1,
    "lead_any": +1,
    "n_distinct_platforms_7d": +1,
    "n_upload_events_7d": +1,
    "n_app_launch_7d": +1,
    "n_notifications_opened_7d": +1,
    "entry_client_PhotosWeb": -1,
    "attrib_channel_type_Clickstream": -1,
    "attrib_channel_type_Other": -1,
}


@dataclass
class PhotosAnalysis:
    """Everything Part B reports, as tidy tables."""

    n_rows: int
    seed: int
    data_hash: str
    baselines: BaselineResult
    segmenter: CoreSegmenter
    metrics: pd.DataFrame
    drivers: pd.DataFrame
    lift: pd.DataFrame
    calibration: pd.DataFrame
    segments: pd.DataFrame

    def to_dict(self) -> dict:
        return {
            "n_rows": self.n_rows,
            "seed": self.seed,
            "data_hash": self.data_hash,
            "metrics": self.metrics,
            "drivers": self.drivers,
            "driver_signs": seed_drivers_check(self.drivers),
            "lift": self.lift,
            "calibration": self.calibration,
            "segments": self.segments,
        }


def seed_drivers_check(driver_table: pd.DataFrame) -> pd.DataFrame:
    """Compare the logistic coefficient signs with the seed §3.2 drivers."""
    coef = driver_table.set_index("feature")["coefficient"]
    rows = [
        {
            "feature": f,
            "expected": "positive" if s > 0 else "negative",
            "coefficient": float(coef.get(f, float("nan"))),
            "agrees": bool(coef.get(f, 0.0) * s > 0),
        }
        for f, s in SEED_DRIVER_SIGNS.items()
    ]
    return pd.DataFrame(rows)


def _per_model(table, base: BaselineResult) -> pd.DataFrame:
    """``table(y_test, score)`` of every baseline, stacked under a leading ``model`` column."""
    t = pd.concat(
        [table(base.y_test, s).assign(model=m) for m, s in base.scores.items()],
        ignore_index=True,
    )
    return t[["model"] + [c for c in t.columns if c != "model"]]


def analyze(
    df: pd.DataFrame,
    *,
    seed: int = 0,
    test_size: float = 0.25,
    source: str = "<photos table>",
    validate: bool = True,
) -> PhotosAnalysis:
    """Run seed 000 Part B on a ``photos_first_login_features`` table.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (validated against :data:`bayes.photos.data.SCHEMA` unless ``validate=False``).
    seed : int
        Seed of the train/test split, the forest and K-means.
    test_size : float
        Held-out fraction (stratified on ``is_core_90d``).
    source : str
        Name used in validation errors (the file path in the CLI).
    validate : bool
        ``False`` when ``df`` was already validated (e.g. read with
        :func:`bayes.photos.data.read_photos`).
    """
    if validate:
        df = validate_photos(df, source=source)
    base = fit_baselines(df, test_size=test_size, seed=seed)
    segmenter = CoreSegmenter(random_state=seed).fit(df)
    segments = segment_table(df, segmenter.predict_segment(df))
    return PhotosAnalysis(
        n_rows=len(df),
        seed=seed,
        data_hash=data_hash(df),
        baselines=base,
        segmenter=segmenter,
        metrics=base.metrics,
        drivers=drivers(base.logistic, base.forest),
        lift=_per_model(lift_by_decile, base),
        calibration=_per_model(calibration_table, base),
        segments=segments,
    )
