"""The video section of ``bayes demo`` (quick mode)."""

import pandas as pd
import pytest

from bayes.demo import DemoContext
from bayes.report import Section
from bayes.video.report import demo_section, segment_comparison
from priors.segments import SEGMENTS
from priors.video import VideoPriors


@pytest.fixture(scope="module")
def measured():
    t = SEGMENTS.copy()
    t["share"] = [0.16, 0.21, 0.25, 0.38]
    t["baseline_core_90d"] = [0.66, 0.52, 0.37, 0.19]
    return t.reset_index()


def test_demo_section_quick(tmp_path, measured):
    photos = Section("Photos", tables={"photos_segments": measured})
    ctx = DemoContext(outdir=tmp_path, seed=1, quick=True, results={"photos": photos})
    sec = demo_section(ctx)
    html = sec.render()
    rec = sec.summary["recommendation"]
    assert sec.headline.startswith("Keep video integrated" if rec == "integrated" else "Ship")
    for name in (
        "video_seed_delta_core.png",
        "video_bayes_delta_core.png",
        "video_sensitivity.png",
    ):
        assert (tmp_path / "figures" / name).stat().st_size > 1000
    for name in ("video_seed_preset.csv", "video_bayes_preset.csv", "video_usage.csv",
                 "video_sensitivity.csv", "video_segments_vs_photos.csv"):  # fmt: skip
        assert (tmp_path / "tables" / name).exists(), name
    seed = pd.read_csv(tmp_path / "tables" / "video_seed_preset.csv")
    assert abs(seed.loc[0, "mean"] - 306) < 0.05 * 306  # thousands
    grid = pd.read_csv(tmp_path / "tables" / "video_sensitivity.csv")
    assert len(grid) == 17 * 17
    assert "Declared segments" in html and "recommendation" in html


def test_segment_comparison_keeps_declared_headline(measured):
    p = VideoPriors()
    comp, closed = segment_comparison(p, measured)
    assert list(comp["segment"]) == list(p.segments.index)
    assert comp["share measured"].tolist() == [0.16, 0.21, 0.25, 0.38]
    assert closed["E[ΔCore] declared segments"].tolist() == pytest.approx([306_240, 248_604])
    assert closed["E[ΔCore] measured segments"][0] != pytest.approx(306_240)
