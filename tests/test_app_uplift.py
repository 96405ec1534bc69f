"""The uplift page under Streamlit's ``AppTest``: the Qini coefficient, AUUC and the targeting
numbers shown equal the library's (``bayes uplift evaluate`` / ``target``) for the same
inputs, move when the costs or the score move, and no exception shows."""

import json

import pytest

from bayes.app import data as appdata
from bayes.app import uplift_data as ud
from bayes.formatting import fmt_number
from tests.test_app import app_data, metrics, no_exception, page  # noqa: F401

pytest.importorskip("streamlit")
pytestmark = pytest.mark.usefixtures("app_data")


@pytest.fixture(scope="module")
def demo_fit(app_data):  # noqa: F811 - the module fixture of tests.test_app
    return ud.demo_scores(appdata.demo_uplift(), "two-model", seed=0)


def test_uplift_page_numbers_are_the_librarys(demo_fit):
    from models.uplift.metrics import qini_auc_score

    at = page("uplift.py").run()
    no_exception(at)
    shown = metrics(at)
    sc = demo_fit.scores
    y, t = sc["converted"].to_numpy(float), sc["treatment_flag"].to_numpy(float)
    ev = ud.evaluate(sc, outcome="converted", treatment="treatment_flag", score="uplift")
    q = ev.metrics["qini_coefficient"]
    # the published definition (scikit-uplift's qini_auc_score), and the CLI's evaluation
    assert q["value"] == pytest.approx(qini_auc_score(y, t, sc["uplift"].to_numpy()), abs=1e-12)
    assert shown["Qini coefficient"] == fmt_number(q["value"], 3)
    captions = [c.value for c in at.caption]
    assert f"90% [{fmt_number(q['lower_90'], 3)}, {fmt_number(q['upper_90'], 3)}]" in captions
    assert shown["AUUC per user"] == fmt_number(ev.metrics["auuc_per_user"]["value"], 3)
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # Qini curve with its band, net revenue
    qini = json.loads(charts[0].proto.spec)
    assert qini["layout"]["title"]["text"] == "Qini curve: two-model learner"
    assert [t.get("name") for t in qini["data"]] == [
        "90% band (bootstrap)", "two-model learner", "random", "perfect"
    ]  # fmt: skip

    # targeting at the default costs (mean margin per conversion, promo 1.5, contact 0.2)
    value = ud.conversion_value(sc, outcome="converted")
    common = dict(score="uplift", outcome="converted", treatment="treatment_flag",
                  p_treated="p_treated", value=value)  # fmt: skip
    res = ud.target(sc, promo_cost=1.5, contact_cost=0.2, **common).summary
    assert shown["best fraction to target"] == f"{res['best_fraction']['value']:.0%}"
    assert shown["net revenue there"] == fmt_number(res["net_revenue_at_best"]["mean"], 0)
    assert shown["P(targeting beats not targeting)"] == fmt_number(
        res["p_targeting_beats_not_targeting"], 2
    )
    # a dearer promotion: less to gain, the library's number again
    at.slider(key="promo").set_value(4.0).run()
    no_exception(at)
    dear = ud.target(sc, promo_cost=4.0, contact_cost=0.2, **common).summary
    after = metrics(at)
    assert after["net revenue there"] == fmt_number(dear["net_revenue_at_best"]["mean"], 0)
    assert dear["net_revenue_at_best"]["mean"] < res["net_revenue_at_best"]["mean"]
    assert after["Qini coefficient"] == shown["Qini coefficient"]  # the ranking did not move

    # ranking by the true uplift: a better Qini coefficient than the learner's
    at.radio(key="score").set_value(ud.TRUE_SCORE).run()
    no_exception(at)
    oracle = ud.evaluate(sc, outcome="converted", treatment="treatment_flag", score="true_uplift")
    assert metrics(at)["Qini coefficient"] == fmt_number(
        oracle.metrics["qini_coefficient"]["value"], 3
    )
    assert oracle.metrics["qini_coefficient"]["value"] > q["value"]


def test_uplift_page_on_an_uploaded_scores_file(demo_fit):
    sc = demo_fit.scores
    at = page("uplift.py").run()
    at.sidebar.radio(key="uplift_source").set_value("upload").run()
    at.file_uploader(key="scores_file").upload("scores.csv", sc.to_csv(index=False).encode())
    at.run()
    no_exception(at)
    ev = ud.evaluate(sc, outcome="converted", treatment="treatment_flag", score="uplift")
    assert metrics(at)["Qini coefficient"] == fmt_number(ev.metrics["qini_coefficient"]["value"], 3)
    # a score with a missing value is refused, naming the file and the row
    bad = sc.copy()
    bad.loc[3, "uplift"] = float("nan")
    at.file_uploader(key="scores_file").upload("bad_scores.csv", bad.to_csv(index=False).encode())
    at.run()
    no_exception(at)
    assert at.error and "bad_scores.csv" in at.error[0].value and "uplift" in at.error[0].value


@pytest.mark.slow
def test_uplift_page_values_conversions_with_the_ltv_posterior():
    at = page("uplift.py").run()
    at.radio(key="valued").set_value("ltv").run()
    no_exception(at)
    shown = metrics(at)
    assert 0 <= float(shown["P(targeting beats not targeting)"]) <= 1
    assert any("12-month LTV" in c.value and "posterior draws" in c.value for c in at.caption)
    before = shown["net revenue there"]
    at.slider(key="margin_rate").set_value(0.9).run()
    no_exception(at)
    assert metrics(at)["net revenue there"] != before
