"""``bayes demo``: the main job end to end (quick sizes), and its all-or-nothing report folder."""

import json
import re

import pytest

from bayes import demo as demo_mod
from bayes.cli import main
from tests.contract import assert_posterior_on_contract
from tests.test_report import assert_page_for_people


@pytest.mark.slow
def test_demo_quick_writes_a_complete_report(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BAYES_NO_TRACK", "0")  # the demo records its runs beside the report
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    out = tmp_path / "report"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert f"report written to {out / 'index.html'}" in capsys.readouterr().out
    html = (out / "index.html").read_text()
    titles = re.findall(r"<h2>(.*?)</h2>", html)
    assert len(titles) == len(demo_mod.DEMO_SECTIONS) + 1  # + the summary
    assert "Not yet available" not in html
    # a page for people: no e+0/NaN in tables, images embedded, the summary first
    assert_page_for_people(html)
    assert len(re.findall(r"<img ", html)) >= 10
    # every section states its headline, with a number, in the summary
    summary = html[html.index('<section id="summary">') : html.index("Run record")]
    assert summary.count("<li>") == len(demo_mod.DEMO_SECTIONS) and "missing" not in summary
    nc = sorted(p.name for p in (out / "posteriors").glob("*.nc"))
    assert len(nc) >= 3, nc
    # issue 17: every posterior the demo writes follows the one schema and reopens as its
    # model with bayes.load, predicting without refitting
    domains = {assert_posterior_on_contract(out / "posteriors" / name).domain for name in nc}
    assert {"video", "signup", "ltv"} <= domains, domains
    assert not (tmp_path / "report.partial").exists()
    import arviz as az

    attrs = az.from_netcdf(out / "posteriors" / "video_update.nc").attrs
    assert attrs["data_source"] == "data/video_pilot.csv"  # not the staging folder
    assert (out / attrs["data_source"]).is_file()
    # the run and one nested run per section are in the store beside the report
    assert main(["runs", "list", "--store", str(tmp_path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)["runs"]
    keys = {demo_mod.section_key(m) for m in demo_mod.DEMO_SECTIONS}
    assert {r["command"] for r in runs} == {"demo"} | {f"demo {k}" for k in keys}
    assert all(r["status"] == "FINISHED" for r in runs)
    assert all(r["headline"] for r in runs if r["command"] != "demo")
    # the sections' own checks, on this one run (each section used to run again on its own)
    _check_photos(out, html)
    _check_growth(out, html)
    _check_uplift(out, html)


def _check_photos(out, html):
    """The Photos section feeds the video priors: its segment table maps onto the segments."""
    import pandas as pd

    from priors.segments import SEGMENT_KEYS, segments_from_table

    for text in ("Lift by score decile", "Behavioural profile by cluster", "Power Prime viewers"):
        assert text in html
    table = pd.read_csv(out / "tables" / "photos_segments.csv")
    assert list(segments_from_table(table).index) == list(SEGMENT_KEYS)
    for name in ("lift_by_decile", "calibration", "drivers", "profile_by_cluster"):
        assert (out / "figures" / f"photos_{name}.png").is_file(), name


def _check_growth(out, html):
    """The growth section states the base's 12-month LTV with its interval and the holdout,
    and its LTV folder reopens as the model on the contract."""
    assert re.search(
        r"The [\d,]+ customers are worth [\d.]+k? \[[\d.]+k?, [\d.]+k?\] over the next 12 "
        r"months \(discounted, 90% interval; [\d,.]+ per customer\); on the \d+-week holdout "
        r"the model predicted [\d,]+ purchases against [\d,]+ \(\d+% off\)\.",
        html,
    )
    summary = json.loads((out / "ltv" / "summary.json").read_text())
    total = summary["totals"]["ltv_12m"]
    assert total["lower_90"] < total["mean"] < total["upper_90"]
    assert "survival/GLM" in html and "Kaplan-Meier" in html
    # how the NUTS trajectories ran (exact likelihood, or its expansion with the acceptance)
    assert "NUTS trajectories" in html and summary["trajectories"]
    for name in ("retention", "survival", "seasonality"):
        assert (out / "figures" / f"growth_{name}.png").is_file(), name
    for name in ("holdout", "p_alive_matrix"):
        assert (out / "ltv" / f"{name}.png").is_file(), name
    model = assert_posterior_on_contract(out / "posteriors" / "growth_ltv.nc")
    assert model.time_unit == "week" and model.idata_.attrs["domain"] == "ltv"


def _check_uplift(out, html):
    """Uplift: the true uplift's regret is 0 and every learner ranks better than random."""
    import pandas as pd

    assert '<p class="ref">seed 004, Methods: Uplift; Limitations &amp; Next Steps</p>' in html
    assert (out / "figures" / "uplift_qini.png").is_file()
    table = pd.read_csv(out / "tables" / "uplift_learners.csv")
    assert table.set_index("learner").loc["truth", "regret"] == pytest.approx(0.0)
    learners = table[table["learner"] != "truth"]
    assert (learners["qini_coefficient_lower_90"] > 0).all()
    assert (learners["regret"] >= 0).all()
    # the quick demo's LTV fit passes its own diagnostics (2 x 150 draws after 200 tuning
    # did not: r-hat 1.022, tail ESS 137; see bayes.uplift.report.QUICK_LTV_SAMPLER)
    ltv = assert_posterior_on_contract(out / "posteriors" / "uplift_ltv.nc")
    assert ltv.diagnostics_.ok and ltv.diagnostics_.divergences == 0, ltv.diagnostics_


def test_failed_demo_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def boom(ctx):
        calls.append(ctx.outdir)
        (ctx.figures / "half.png").write_bytes(b"x")
        raise RuntimeError("section failed")

    monkeypatch.setattr(demo_mod, "DEMO_SECTIONS", ("bayes.photos.report",))
    monkeypatch.setattr("bayes.photos.report.demo_section", boom)
    out = tmp_path / "report"
    with pytest.raises(RuntimeError, match="section failed"):
        demo_mod.run_demo(out, quick=True, log=lambda *a, **k: None)
    assert calls and not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target", ["notes", "."])
def test_demo_never_empties_a_folder_it_did_not_write(tmp_path, capsys, monkeypatch, target):
    """Issue 11: `bayes demo --out DIR` (even `--out .`) deleted whatever DIR held."""
    folder = tmp_path / "notes"
    (folder / "drafts").mkdir(parents=True)
    (folder / "notes.txt").write_text("mine")
    monkeypatch.chdir(folder)
    out = folder if target == "notes" else "."
    assert main(["demo", "--quick", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was not written by bayes" in err and "left untouched" in err
    assert sorted(p.name for p in folder.iterdir()) == ["drafts", "notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine"
