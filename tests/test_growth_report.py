"""The growth/LTV section of the demo report (quick sizes): figures exist, the headline states
the 12-month LTV of the base with its 90% interval, and the posterior reopens as its model."""

import re

import pytest

from tests.contract import assert_posterior_on_contract


@pytest.mark.slow
def test_growth_demo_section(tmp_path):
    from bayes.demo import DemoContext
    from bayes.growth.report import demo_section

    ctx = DemoContext(outdir=tmp_path, seed=0, quick=True)
    sec = demo_section(ctx)
    assert re.fullmatch(
        r"The [\d,]+ customers are worth [\d.]+k? \[[\d.]+k?, [\d.]+k?\] over the next 12 "
        r"months \(discounted, 90% interval; [\d,.]+ per customer\); on the \d+-week holdout "
        r"the model predicted [\d,]+ purchases against [\d,]+ \(\d+% off\)\.",
        sec.headline,
    ), sec.headline
    total = sec.summary["ltv_totals"]["ltv_12m"]
    assert total["lower_90"] < total["mean"] < total["upper_90"]
    html = sec.render()
    assert all(
        src.startswith("data:image/png;base64,") for src in re.findall(r'<img src="([^"]+)"', html)
    )
    figures = {"growth_retention", "growth_survival", "growth_seasonality", "holdout"}
    assert figures | {"p_alive_matrix"} == set(sec.figures), sec.figures
    assert all(p.is_file() for p in sec.figures.values())
    assert "survival/GLM" in html and "Kaplan-Meier" in html
    model = assert_posterior_on_contract(tmp_path / "posteriors" / "growth_ltv.nc")
    assert model.time_unit == "week" and model.idata_.attrs["domain"] == "ltv"
    assert (tmp_path / "ltv" / "summary.json").is_file()
    assert sec.files["posterior"] == tmp_path / "posteriors" / "growth_ltv.nc"
