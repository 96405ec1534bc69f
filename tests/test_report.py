"""The report: numbers for people, one self-contained page, a summary first (issue 15)."""

import re

import numpy as np
import pandas as pd
import pytest

from bayes import headlines
from bayes.formatting import column_decimals, compact, fmt_number, fmt_percent, format_frame
from bayes.report import Report, Section, render_table, split_reference


def _visible_tables(page: str) -> list[str]:
    """The text of every table of a page (scripts and data URIs removed)."""
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return re.findall(r"<table.*?</table>", page, flags=re.S)


def assert_page_for_people(page: str) -> None:
    """The report rules every page must satisfy (also used on the demo's page)."""
    tables = _visible_tables(page)
    assert tables
    for t in tables:
        cells = re.sub(r"<[^>]+>", " ", t)
        assert not re.search(r"\d[eE][+-]\d", cells), re.findall(r"\S*\d[eE][+-]\d\S*", cells)
        assert "NaN" not in cells and "nan" not in cells.split() and "None" not in cells.split()
    # every image is embedded: nothing to lose when the page is sent alone
    assert re.findall(r"<img ", page)
    assert not re.findall(r'<img[^>]+src="(?!data:)', page)
    # the summary comes before the first domain section, and links to every section
    summary = page.index('<section id="summary">')
    first = page.index('<section id="', summary + 1)
    assert summary < first and page.index("Run record") < first
    block = page[summary:first]
    for anchor in re.findall(r'<section id="([^"]+)" class="domain">', page):
        assert f'href="#{anchor}"' in block, anchor
    assert "viewport" in page and ".table-wrap{overflow:auto" in page


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    "value, text",
    [
        (306_820.4, "306,820"),
        (-58_210.0, "−58,210"),
        (3.068e5, "306,800"),
        (0.1934, "0.193"),
        (2.5, "2.50"),
        (0.0004, "0.000400"),
        (1e-9, "< 0.000001"),
        (-1e-9, "> −0.000001"),
        (12, "12"),
        (1_234_567, "1,234,567"),
        (float("nan"), "—"),
        (None, "—"),
        (True, "yes"),
        (np.float32(1.5), "1.50"),
        (float("inf"), "∞"),
    ],
)
def test_fmt_number(value, text):
    assert fmt_number(value) == text


def test_fmt_number_options():
    assert fmt_number(71.149, 2, prefix="$") == "$71.15"
    assert fmt_number(-71.149, 2, prefix="$") == "−$71.15"
    assert fmt_number(0.5, 0, unit="%") == "0%"  # rounds half to even, never "0.5%"
    assert fmt_number(12.0, 1, unit="users") == "12.0 users"
    assert fmt_number(3.0, plus=True) == "+3.00"
    assert fmt_percent(0.193) == "19%"
    assert compact(57_300) == "57.3k"
    assert compact(-1_250_000) == "−1.25M"
    assert compact(305_123) == "305k"
    assert compact(41_200, plus=True) == "+41.2k"
    assert compact(950.0) == "950"


def test_column_decimals_one_rule_per_column():
    assert column_decimals([1.0, 2.0, 300.0]) == 0  # whole numbers
    assert column_decimals([0.193, 0.25, 0.51]) == 3
    assert column_decimals([1.5, 300.25]) == 2  # small entries keep their digits
    assert column_decimals([1e-5, 0.5, 0.25]) == 5
    assert column_decimals([float("nan")]) is None


def test_format_frame_aligns_decimals_and_explains_missing_cells():
    df = pd.DataFrame(
        {
            "model": ["logistic", "forest", None],
            "auc": [0.7441, np.nan, 0.75],
            "n": [5000, 5000, 4000],
            "big": [3.068e5, 1.2e6, -7489.0],
        }
    )
    t = format_frame(df, na_reason="the forest has no coefficients")
    assert [r[1] for r in t.rows] == ["0.744", "—", "0.750"]
    assert [r[2] for r in t.rows] == ["5,000", "5,000", "4,000"]
    assert [r[3] for r in t.rows] == ["306,800", "1,200,000", "−7,489"]
    assert t.missing[1][1] and t.missing[2][0] and not t.missing[0][1]
    assert t.na_reason == "the forest has no coefficients"
    assert t.numeric == [False, True, True, True]
    html = render_table(df, na_reason="the forest has no coefficients")
    assert html.count('class="na"') == 2 and "the forest has no coefficients" in html
    assert "NaN" not in html and "e+0" not in html


def test_split_reference():
    assert split_reference("Video: updating after a pilot (seed 000 §11)") == (
        "Video: updating after a pilot",
        "seed 000 §11",
    )
    assert split_reference("Customer 360 signup probability (seed 003)") == (
        "Customer 360 signup probability",
        "seed 003",
    )
    assert split_reference("Photos: Core_90d activation") == ("Photos: Core_90d activation", "")


# ----------------------------------------------------------------------------- the page


@pytest.fixture
def page(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    from bayes.io import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    png = save_figure(fig, tmp_path / "figures" / "line.png")
    a = Section("Alpha domain (seed 000 §9)", "intro text", key="alpha")
    a.headline = "Keep A: +57.3k users [−2.1k, +120k], P(B better) 0.19."
    a.metrics({"big": 3.068e5, "ok": True, "missing": float("nan")}, "metrics")
    a.table(
        pd.DataFrame({"x": [1.5e-7, 2.0], "y": [np.nan, 7489.25]}),
        "a table",
        csv_path=tmp_path / "tables" / "a_table.csv",
        report_dir=tmp_path,
    )
    a.figure(png, "a figure", report_dir=tmp_path)
    a.plotly(go.Figure(go.Bar(x=[1, 2], y=[3, 4])), "interactive")
    b = Section("Beta domain", key="beta")  # no headline: the summary says so
    b.table(pd.DataFrame({"z": [1, 2]}), "b table")
    report = Report(tmp_path, title="T", run_record={"seeds": {"demo": 0}})
    report.add(a)
    report.add(b)
    return report, tmp_path


def test_page_is_for_people_and_self_contained(page):
    report, tmp_path = page
    html = report.render()
    assert_page_for_people(html)
    # the result is typed and kept on the section
    a = report.sections[0]
    assert set(a.tables) == {"a_table"} and set(a.figures) == {"line"}
    assert a.summary["big"] == 3.068e5 and a.files["a_table"].name == "a_table.csv"
    assert pd.read_csv(tmp_path / "tables" / "a_table.csv")["x"][0] == pytest.approx(1.5e-7)
    # numbers: separators, no scientific notation, missing values explained
    assert "306,800" in html and ">&lt; 0.0001<" in html and ">7,489<" in html
    assert "no value" in html and "—" in html
    # plain headings, the spec reference in small print
    assert "<h2>Alpha domain</h2>" in html and '<p class="ref">seed 000 §9</p>' in html
    # summary: headline with its number and link; a missing headline is said, not hidden
    assert '<a href="#alpha">Alpha domain</a>: Keep A: +57.3k users' in html
    assert 'class="missing"><a href="#beta">Beta domain</a>: — no headline' in html
    # one copy of plotly.js, the chart inline; the CSV link is the only relative link
    from plotly.offline import get_plotlyjs

    assert html.count(get_plotlyjs()) == 1 and 'class="plotly"' in html
    assert 'id="plot-alpha-' in html and "Plotly.newPlot" in html
    markup = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert re.findall(r'href="(?!#)([^"]+)"', markup) == ["tables/a_table.csv"]
    # run record: date, version, commit, seeds
    record = html[html.index("Run record") : html.index('<section id="alpha"')]
    for text in ("created", "package version", "git commit", "seeds"):
        assert text in record, text


def test_page_without_plotly_carries_no_script(tmp_path):
    report = Report(tmp_path)
    s = Section("Only a table")
    s.table(pd.DataFrame({"a": [1.0]}))
    report.add(s)
    assert "<script" not in report.render()
    path = report.write()
    assert path == tmp_path / "index.html" and path.read_text().startswith("<!doctype html>")


def test_headlines_say_number_and_uncertainty():
    video = {
        "difference": {"mean": -57_300.0, "lower_90": -150_100.0, "upper_90": 41_000.0,
                       "p_standalone_better": 0.19},
        "recommendation": "integrated",
    }  # fmt: skip
    assert headlines.video_decision(video) == (
        "Keep video integrated: standalone − integrated −57.3k Core users [−150k, +41.0k] on "
        "the high-engagement base, P(standalone better) 0.19."
    )
    total = {"members": 2433, "expected_signups": 25.51, "lower_90": 21.44, "upper_90": 29.65}
    assert headlines.signup_audience(total) == (
        "An audience of 2,433 recipients is expected to bring 25.5 signups [21.4, 29.6] "
        "(hierarchical model, 90% interval)."
    )
    eb = headlines.signup_audience({"members": 800, "expected_signups": 13.49}, method="eb")
    assert "13.5 signups" in eb and "no interval" in eb
    update = {
        "alpha_hat": {"median": 1.071, "lower_90": 0.89, "upper_90": 1.31},
        "beta_hat": {"median": 0.88, "lower_90": 0.62, "upper_90": 1.22},
        "recommendation": "integrated",
        "p_standalone_better": 0.1,
        "rule_11": {"p_blue": 0.1, "threshold": 0.9},
    }
    assert headlines.video_update(update).startswith(
        "After the pilot, keep video integrated: α̂ 1.07 [0.89, 1.31], β̂ 0.88 [0.62, 1.22]"
    )
    ltv = {
        "customers": 3000,
        "time_unit": "week",
        "totals": {"ltv_12m": {"mean": 355_000.0, "lower_90": 331_200.0, "upper_90": 380_400.0}},
        "holdout": {"duration": 12.0, "total_actual": 519.0, "total_predicted": 627.12,
                    "ape_total": 0.2083},
    }  # fmt: skip
    assert headlines.ltv_total(ltv) == (
        "The 3,000 customers are worth 355k [331k, 380k] over the next 12 months (discounted, "
        "90% interval; 118.33 per customer); on the 12-week holdout the model predicted 627 "
        "purchases against 519 (21% off)."
    )


def test_sections_read_earlier_results_through_the_context(tmp_path):
    from bayes.demo import DemoContext, section_key

    assert section_key("bayes.video.update_report") == "video.update"
    assert section_key("bayes.photos.report") == "photos"
    segments = pd.DataFrame({"segment": ["a"], "share": [1.0]})
    ctx = DemoContext(
        tmp_path, results={"photos": Section("P", tables={"photos_segments": segments})}
    )
    assert ctx.table("photos", "photos_segments") is segments
    assert ctx.table("photos", "other") is None and ctx.result("signup") is None
    with pytest.raises(AttributeError, match="ctx.result"):
        ctx.state  # noqa: B018 - the untyped dict is gone, and says what replaced it
