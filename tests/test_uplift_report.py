"""The uplift demo section's headline (the section itself runs in tests/test_demo.py, with the
whole quick demo: its figures, tables, zero regret of the true uplift, learners above random)."""

from __future__ import annotations

import re

import pytest


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
    margin = (
        r"12-month net margin [+-][\d,]+ \[[+-][\d,]+, [+-][\d,]+\] on [\d,]+ customers, "
        r"P\(targeting beats not targeting\) [01]\.\d\d"
    )
    pinned = r"Target the top \d+% \[\d+%, \d+%\] of customers by DR uplift: " + margin
    loose = (
        r"The data do not pin down how many customers to target: the best fraction by DR uplift "
        r"is anywhere in \[\d+%, \d+%\] \(90%\); at its most likely value, the top \d+%: " + margin
    )
    assert re.fullmatch(pinned, sec.headline) or re.fullmatch(loose, sec.headline), sec.headline


@pytest.mark.parametrize(
    ("lo", "hi", "start"),
    [(0.2, 0.4, "Target the top 30% [20%, 40%] of customers"), (0.01, 0.99, "The data do not")],
)
def test_headline_says_when_the_data_do_not_pin_the_fraction(lo, hi, start):
    from bayes.uplift.report import targeting_headline

    summary = {
        "best_fraction": {"value": 0.3, "lower_90": lo, "upper_90": hi},
        "net_revenue_at_best": {"mean": 1200.0, "lower_90": -50.0, "upper_90": 2400.0},
        "users": 5000,
        "p_targeting_beats_not_targeting": 0.91,
    }
    text = targeting_headline(summary)
    assert text.startswith(start), text
    assert "+1,200 [-50, +2,400] on 5,000 customers" in text and text.endswith("0.91")


def _small_fit_ltv(rfm, **kw):
    """The LTV model on a few NUTS draws (the compressed likelihood makes this seconds)."""
    from models.ltv import LTVModel
    from models.sampling import SamplerConfig

    cfg = SamplerConfig(draws=60, tune=100, chains=2, seed=0, progress=False)
    return LTVModel(sampler=cfg, time_unit="W").fit(rfm)
