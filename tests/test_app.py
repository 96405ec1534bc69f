"""The app's pages under Streamlit's ``AppTest``: set widgets, run, check that the numbers
change as they should, equal the library's and the CLI's, and that no exception shows."""

import json

import pandas as pd
import pytest

from bayes.app import APP_DIR, PAGES, available_pages
from bayes.app import data as appdata

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

TIMEOUT = 600


@pytest.fixture(scope="module")
def app_data(tmp_path_factory):
    """A fresh data folder for the app (demo data generated on first use), and small NUTS
    settings for the LTV fit."""
    root = tmp_path_factory.mktemp("app-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(appdata.ENV, str(root))
        mp.setitem(appdata.LTV_FIT, "draws", 200)
        mp.setitem(appdata.LTV_FIT, "tune", 200)
        yield root


def page(name: str) -> AppTest:
    return AppTest.from_file(str(APP_DIR / name), default_timeout=TIMEOUT)


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


# ----------------------------------------------------------------------------- data


def test_demo_data_is_generated_once_and_cached(app_data):
    paths = appdata.demo_signup()
    assert set(paths) == {"events", "campaigns", "signups"}
    assert paths["events"].parent.parent == app_data
    stamp = paths["events"].stat().st_mtime_ns
    assert appdata.demo_signup() == paths and paths["events"].stat().st_mtime_ns == stamp
    pilot = appdata.demo_pilot()
    assert pd.read_csv(pilot)["users"].eq(appdata.DEMO_PILOT["users_per_arm"]).all()
    up = appdata.save_upload("../../my pilot.csv", b"a,b\n1,2\n")
    assert up.name == "my pilot.csv" and up.read_bytes() == b"a,b\n1,2\n"
    assert up.parent.parent == app_data / "uploads"


def test_pages_are_registered_with_their_scripts():
    assert [p.url for p in available_pages()] == [p.url for p in PAGES]
    for p in PAGES:
        assert (APP_DIR / p.script).is_file(), p.script


def test_home_page(app_data):
    at = page("home.py").run()
    no_exception(at)
    assert at.title[0].value == "Bayesian workbench"
    text = " ".join(m.value for m in at.markdown)
    for words in ("Video decision", "Signup audiences", "Customer LTV"):
        assert words in text


def test_navigation_entry_point_runs_the_first_page(app_data):
    at = AppTest.from_file(str(APP_DIR / "main.py"), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert at.title[0].value == "Bayesian workbench"


# ----------------------------------------------------------------------------- video


def _edit_all(column: str, value: float) -> dict:
    return {"edited_rows": {i: {column: value} for i in range(4)}, "added_rows": [],
            "deleted_rows": []}  # fmt: skip


def test_video_page_follows_the_prior_table(app_data):
    from bayes.formatting import fmt_number
    from bayes.video.decide import simulation_summary
    from bayes.video.simulate import simulate
    from priors.video import VideoPriors

    at = page("video.py").run()
    no_exception(at)
    base = metrics(at)
    # the library's numbers, formatted as on the page
    lib = simulation_summary(simulate(VideoPriors(), preset="bayes", draws=4000, seed=0))
    assert base["P(standalone better)"] == fmt_number(lib["difference"]["p_standalone_better"], 2)
    assert "the integrated feed wins" in " ".join(m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 2  # decision histogram, sensitivity map

    # a standalone app as attractive as the integrated feed, with a larger uplift
    at.session_state["video_prior_table"] = {
        "edited_rows": {
            i: {"p_adopt_standalone": p, "delta_standalone": 0.09}
            for i, p in enumerate((0.7, 0.5, 0.4, 0.2))
        },
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    no_exception(at)
    edited = metrics(at)
    assert float(edited["P(standalone better)"]) > float(base["P(standalone better)"]) + 0.3
    text = " ".join(m.value for m in at.markdown)
    assert "the standalone app wins" in text and "Ship a standalone video app" in text
    assert "8 entries changed" in " ".join(c.value for c in at.caption)

    # a probability above 1 is refused, naming the entry
    at.session_state["video_prior_table"] = _edit_all("p_adopt_standalone", 1.3)
    at.run()
    no_exception(at)
    assert at.error and "p_adopt_standalone[power_prime] = 1.3" in at.error[0].value


@pytest.mark.slow
def test_video_page_places_a_pilot_posterior_on_the_map(app_data):
    at = page("video.py").run()
    at.select_slider(key="nuts_draws").set_value(100)
    at.button(key="run_update").click().run()
    no_exception(at)
    m = metrics(at)
    assert 0.5 < float(m["α̂ (median)"]) < 2.0 and 0.5 < float(m["β̂ (median)"]) < 2.0
    assert m["Recommendation"] in ("integrated", "standalone")
    charts = at.get("plotly_chart")
    assert len(charts) == 3  # + the map with the posterior draws
    assert "posterior draws" in charts[-1].proto.spec
    # an upload with a missing column is refused with the file and column named
    at.radio(key="pilot_source").set_value("upload").run()
    at.file_uploader(key="pilot_file").upload(
        "bad_pilot.csv", b"segment,arm\npower_prime,control\n"
    )
    at.run()
    no_exception(at)
    assert at.error and "bad_pilot.csv" in at.error[0].value and "users" in at.error[0].value


# ----------------------------------------------------------------------------- signup


def test_signup_page_rules_change_the_audience_and_match_the_cli(app_data, tmp_path):
    from bayes.cli import main

    at = page("signup.py").run()
    no_exception(at)
    m0 = metrics(at)
    assert m0["90% interval"] == "—"  # the seed's EB: no interval
    at.number_input(key="top_n").set_value(50).run()
    m1 = metrics(at)
    n1 = int(m1["recipients"].replace(",", ""))
    assert 0 < n1 <= 4 * 50 < int(m0["recipients"].replace(",", ""))
    at.radio(key="goal").set_value("all").run()
    no_exception(at)
    assert at.download_button(key="download").label.startswith("Download the audience")

    # the page's audience is the CLI's, byte for byte
    from bayes.signup.audience import AudienceRules

    paths = appdata.demo_signup()
    scores = appdata.signup_scores(paths["events"], paths["campaigns"], paths["signups"])
    # counted on the engine, as the CLI counts; the page says how
    assert (
        scores.counted == "duckdb: 1 topic partition, e-mails trimmed of spaces (none needed more)"
    )
    assert any(f"Counted on {scores.counted}." in c.value for c in at.caption)
    audience, funnel, expected = appdata.signup_audience(
        scores, AudienceRules(goal="new", top_n=50)
    )
    assert len(audience) == n1
    assert m1["expected signups"] == f"{expected.iloc[-1]['expected_signups']:,.1f}"
    out = tmp_path / "aud"  # --out is a folder holding audience.csv and summary.json
    argv = ["signup", "score", "--events", str(paths["events"]), "--campaigns",
            str(paths["campaigns"]), "--signups", str(paths["signups"]), "--goal", "new",
            "--top-n", "50", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert appdata.audience_csv(audience) == (out / "audience.csv").read_bytes()
    assert funnel["kept"].iloc[-1] == n1


def test_signup_page_names_a_bad_upload(app_data):
    at = page("signup.py").run()
    at.sidebar.radio(key="signup_source").set_value("upload").run()
    at.file_uploader(key="events").upload("events.csv", b"email,event_type\na@b.c,send\n")
    at.file_uploader(key="campaigns").upload("campaigns.csv", b"campaign_id,name\n1,[Mortgage] x\n")
    at.run()
    no_exception(at)
    assert at.error
    err = at.error[0].value
    assert "events.csv" in err and "missing" in err.lower()


@pytest.mark.slow
def test_signup_page_hierarchical_gives_an_interval(app_data):
    at = page("signup.py").run()
    at.sidebar.radio(key="method").set_value("hierarchical").run()
    at.sidebar.select_slider(key="signup_draws").set_value(100).run()
    no_exception(at)
    m = metrics(at)
    lo, hi = (float(x.replace(",", "")) for x in m["90% interval"].split(" – "))
    assert lo < float(m["expected signups"].replace(",", "")) < hi
    assert "(hierarchical model, 90% interval)" in " ".join(x.value for x in at.markdown)


# ----------------------------------------------------------------------------- LTV


@pytest.mark.slow
def test_ltv_page_lookup_and_cohorts(app_data):
    at = page("ltv.py").run()
    no_exception(at)
    first = metrics(at)
    assert set(first) == {
        "P(alive)",
        "purchases in 26 weeks",
        "spend per purchase",
        "6-month LTV",
        "12-month LTV",
    }
    # the page's numbers are customer_ltv's (summaries of LTVModel.predict)
    fit, summary = appdata.ltv_model(appdata.demo_growth()["orders"])
    customer = at.selectbox(key="customer").value
    table = appdata.customer_ltv(fit, summary, customer).set_index("quantity")
    assert first["12-month LTV"] == f"{table.loc['12-month LTV', 'mean']:,.2f}"
    lo, hi = table.loc["P(alive)", ["lower", "upper"]]
    assert lo <= table.loc["P(alive)", "mean"] <= hi
    # another customer, another horizon: the numbers move
    other = at.selectbox(key="customer").options[-1]  # no repeat purchase
    at.selectbox(key="customer").set_value(other).run()
    at.sidebar.slider(key="horizon").set_value(52).run()
    no_exception(at)
    second = metrics(at)
    assert "purchases in 52 weeks" in second
    assert second["12-month LTV"] != first["12-month LTV"]
    # cohorts: one block per device
    at.selectbox(key="segment").set_value("device").run()
    no_exception(at)
    spec = json.loads(at.get("plotly_chart")[-1].proto.spec)
    rows = spec["data"][0]["y"]
    assert {r.split(" · ")[0] for r in rows} == {"ios", "android", "web"}
    assert spec["layout"]["xaxis"]["title"]["text"] == "weeks since signup"
