"""``bayes demo``: the main job end to end (quick sizes), and its all-or-nothing report folder."""

import re

import pytest

from bayes import demo as demo_mod
from bayes.cli import main


@pytest.mark.slow
def test_demo_quick_writes_a_complete_report(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["demo", "--quick", "--out", str(out)]) == 0
    assert f"report written to {out / 'index.html'}" in capsys.readouterr().out
    html = (out / "index.html").read_text()
    titles = re.findall(r"<h2>(.*?)</h2>", html)
    assert len(titles) == len(demo_mod.DEMO_SECTIONS)
    assert "Not yet available" not in html
    # every figure the page shows exists, and the reviewers' posteriors are there
    for src in re.findall(r'<img src="([^"]+)"', html):
        assert (out / src).is_file(), src
    assert len(re.findall(r"<img ", html)) >= 10
    nc = sorted(p.name for p in (out / "posteriors").glob("*.nc"))
    assert len(nc) >= 3, nc
    assert not (tmp_path / "report.partial").exists()
    import arviz as az

    attrs = az.from_netcdf(out / "posteriors" / "video_update.nc").attrs
    assert attrs["data_source"] == "data/video_pilot.csv"  # not the staging folder
    assert (out / attrs["data_source"]).is_file()


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
