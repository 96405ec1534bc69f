"""Growth generator (seed 004 data dictionary) and weekly cohort retention."""

import numpy as np
import pandas as pd
import pytest

from bayes.growth.cohorts import plot_retention, retention_curve, retention_matrix
from bayes.growth.data import (
    CHANNELS,
    COUNTRIES,
    DEVICES,
    generate_growth_data,
    read_events,
    read_orders,
    read_users,
    write_growth_data,
)
from bayes.io import InputError


@pytest.fixture(scope="module")
def small():
    return generate_growth_data(3000, seed=5)


def test_tables_follow_the_data_dictionary(small, tmp_path):
    assert list(small.users.columns) == ["user_id", "signup_ts", "country", "device", "acq_channel"]
    assert list(small.events.columns) == [
        "user_id",
        "event_ts",
        "event_type",
        "session_id",
        "amount",
    ]
    assert list(small.orders.columns) == [
        "order_id",
        "user_id",
        "order_ts",
        "amount",
        "margin",
        "promo_flag",
        "treatment_flag",
    ]
    assert set(small.users.country) <= set(COUNTRIES) and set(small.users.device) <= set(DEVICES)
    assert set(small.users.acq_channel) == set(CHANNELS)
    paths = write_growth_data(small, tmp_path)
    first = open(paths["orders"]).read().splitlines()[1]
    assert first.split(",")[2].endswith("Z") and "T" in first.split(",")[2]  # ISO8601 UTC
    users, events, orders = (
        read_users(paths["users"]),
        read_events(paths["events"]),
        read_orders(paths["orders"]),
    )
    assert len(users) == 3000 and len(orders) == len(small.orders)
    assert str(events.event_ts.dt.tz) == "UTC"


def test_purchases_are_events_and_orders_consistently(small):
    ev, od = small.events, small.orders
    buy = ev[ev.event_type == "purchase"].sort_values(["user_id", "event_ts"])
    assert len(buy) == len(od)
    assert buy.amount.sum() == pytest.approx(od.amount.sum())
    assert (ev.loc[ev.event_type != "purchase", "amount"] == 0).all()
    # every session starts with session_start and belongs to one user
    firsts = ev.groupby("session_id").head(1)
    assert (firsts.event_type == "session_start").all()
    assert ev.groupby("session_id").user_id.nunique().max() == 1
    assert (od.amount > 0).all() and (od.margin <= od.amount).all()
    assert od.order_ts.max() <= small.observation_end
    join = od.merge(small.users, on="user_id")
    assert (join.order_ts >= join.signup_ts).all()


def test_generator_is_deterministic():
    a, b = generate_growth_data(500, seed=9), generate_growth_data(500, seed=9)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.orders, b.orders)
    c = generate_growth_data(500, seed=10)
    assert not a.orders.equals(c.orders)


def _toy():
    ts = pd.Timestamp("2024-01-01", tz="UTC")  # a Monday
    users = pd.DataFrame(
        {
            "user_id": [1, 2, 3],
            "signup_ts": [ts, ts + pd.Timedelta(days=2), ts + pd.Timedelta(days=7)],
            "device": ["ios", "web", "ios"],
        }
    )
    d = pd.Timedelta(days=1)
    events = pd.DataFrame(
        {
            "user_id": [1, 1, 1, 2, 2, 3, 3],
            "event_ts": [
                ts,
                ts + 8 * d,
                ts + 9 * d,
                ts + 2 * d,
                ts + 2 * d + 13 * d,
                ts + 7 * d,
                ts + 7 * d + 6.9 * d,
            ],
            "event_type": ["session_start"] * 5 + ["session_start", "view"],
        }
    )
    return users, events


def test_retention_matrix_on_a_hand_worked_example():
    users, events = _toy()
    m = retention_matrix(users, events, max_weeks=2, as_of="2024-01-31")
    # cohort 2024-01-01: users 1 and 2; week 1: user 1 (day 8), user 2 (day 13 after signup)
    row = m.set_index("cohort").loc["2024-01-01"]
    assert row.cohort_size == 2 and row.week_0 == 1.0 and row.week_1 == 1.0 and row.week_2 == 0.0
    # cohort 2024-01-08: user 3, only a view in week 0 besides the start -> week 1 = 0
    row = m.set_index("cohort").loc["2024-01-08"]
    assert row.week_0 == 1.0 and row.week_1 == 0.0
    # censoring: as of Jan 20 week 2 of cohort 1 (ends Jan 17 for user 2 +7 = Jan 24) is unseen
    m2 = retention_matrix(users, events, max_weeks=2, as_of="2024-01-20")
    assert np.isnan(m2.set_index("cohort").loc["2024-01-01", "week_2"])
    assert m2.set_index("cohort").loc["2024-01-01", "week_1"] == 1.0


def test_retention_by_segment_and_curve(small):
    m = retention_matrix(small.users, small.events, segment="device", max_weeks=6)
    assert set(m.device) == set(DEVICES)
    assert (m.week_0 == 1.0).all()  # everyone has a signup session
    curve = retention_curve(m, "device").pivot(index="week", columns="device", values="retention")
    assert (curve.loc[6] < curve.loc[1]).all()  # retention decays
    assert curve.loc[4, "ios"] > curve.loc[4, "web"]  # engagement multipliers 1.15 vs 0.8
    fig = plot_retention(m, "device")
    assert len([a for a in fig.axes if a.get_visible()]) >= 3


def test_retention_rejects_unknown_users_and_segments():
    users, events = _toy()
    bad = pd.concat([events, events.iloc[[0]].assign(user_id=99)], ignore_index=True)
    with pytest.raises(InputError, match="missing from the users table"):
        retention_matrix(users, bad)
    with pytest.raises(InputError, match="unknown segment"):
        retention_matrix(users, events, segment="planet")
