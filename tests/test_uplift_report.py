"""The uplift demo section: runs end to end (quick), sets its headline, and its figures and
tables exist; the regret of the true uplift is zero and learners beat a random ranking."""

from __future__ import annotations

import re

import pytest


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # short LTV chains in quick mode
def test_uplift_demo_section(tmp_path):
    import pandas as pd

    from bayes.demo import run_demo

    index = run_demo(tmp_path / "r", quick=True, only=["uplift"], log=lambda *a, **k: None)
    html = index.read_text()
    # the report opens with the summary of headlines; the spec reference moves to small print
    assert re.findall(r"<h2>(.*?)</h2>", html) == [
        "Summary",
        "Uplift: who to target with a promotion",
    ]
    assert '<p class="ref">seed 004, Methods: Uplift; Limitations &amp; Next Steps</p>' in html
    # figures are embedded in the page (it can be sent alone) and kept as files beside it
    srcs = re.findall(r'<img src="([^"]+)"', html)
    assert len(srcs) >= 4 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert (index.parent / "figures" / "uplift_qini.png").is_file()
    table = pd.read_csv(index.parent / "tables" / "uplift_learners.csv")
    truth = table.set_index("learner").loc["truth"]
    assert truth["regret"] == pytest.approx(0.0)
    learners = table[table["learner"] != "truth"]
    # every learner ranks better than random: its Qini interval lies above 0
    assert (learners["qini_coefficient_lower_90"] > 0).all()
    assert (learners["regret"] >= 0).all()
    assert (index.parent / "posteriors" / "uplift_ltv.nc").is_file()


def test_headline_states_fraction_interval_and_probability(monkeypatch, tmp_path):
    """The headline is built from the targeting summary: fraction, interval, probability."""
    from bayes.demo import DemoContext
    from bayes.uplift import report

    real = report.run_uplift_demo

    def small(n_users, **kw):
        return real(600, **{**kw, "n_boot": 20})

    monkeypatch.setattr(report, "run_uplift_demo", small)
    monkeypatch.setattr(
        "bayes.ltv.workflow.fit_ltv", _small_fit_ltv
    )  # a few draws here; the slow test above samples in earnest
    sec = report.demo_section(DemoContext(outdir=tmp_path, quick=True))
    assert re.fullmatch(
        r"Target the top \d+% \[\d+%, \d+%\] of customers by DR uplift: 12-month net margin "
        r"[+-][\d,]+ \[[+-][\d,]+, [+-][\d,]+\] on [\d,]+ customers, P\(targeting beats not "
        r"targeting\) [01]\.\d\d",
        sec.headline,
    ), sec.headline


def _small_fit_ltv(rfm, **kw):
    """The LTV model on a few NUTS draws (the compressed likelihood makes this seconds)."""
    from models.ltv import LTVModel
    from models.sampling import SamplerConfig

    cfg = SamplerConfig(draws=60, tune=100, chains=2, seed=0, progress=False)
    return LTVModel(sampler=cfg, time_unit="W").fit(rfm)
