"""Backtest: seed-exact EB vs the hierarchical beta-binomial on each pair's last send.

For every ``(email, topic)`` with at least two sends, the last send is held out: its time is the
cut-off, everything earlier (events with ``event_ts`` before it, signups-table rows with
``signup_ts`` before it) is the training data, and the outcomes are

* ``click``: a click event on the held-out message;
* ``signup``: any signup in the topic at or after the cut-off (signup event or table row).

Both estimators are fitted on the training counts (topic priors are recomputed on them) and
predict ``p_click`` and ``p_signup`` for the next send; they are scored by log loss and Brier
score. On synthetic data the true per-recipient rates are known, so the report also gives the
RMSE of each estimate against the truth and the scores of the true rates (the floor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bayes.signup.counting import EVENT_TYPES, aggregate_pairs, encode_events, encode_signups
from models.signup import HierarchicalSignupModel, eb_scores, topic_priors

__all__ = ["BacktestResult", "backtest", "brier_score", "log_loss"]

_SEND, _CLICK, _SIGNUP = (EVENT_TYPES.index(e) for e in ("send", "click", "signup"))


def log_loss(y, p, eps: float = 1e-12) -> float:
    """Mean negative log-likelihood of 0/1 outcomes ``y`` under probabilities ``p``."""
    y = np.asarray(y, float)
    p = np.clip(np.asarray(p, float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def brier_score(y, p) -> float:
    """Mean squared error of probabilities against 0/1 outcomes."""
    return float(np.mean((np.asarray(p, float) - np.asarray(y, float)) ** 2))


@dataclass
class BacktestResult:
    """``metrics``: one row per (target, method) with log loss, Brier and (with truth) RMSE;
    ``holdout``: per-pair outcomes and predictions."""

    metrics: pd.DataFrame
    holdout: pd.DataFrame
    model: HierarchicalSignupModel | None = None
    info: dict = field(default_factory=dict)

    def comparison(self) -> dict:
        """Per target: hierarchical minus EB log loss and Brier (negative = hierarchical better)."""
        m = self.metrics.set_index(["target", "method"])
        out = {}
        for target in ("click", "signup"):
            out[target] = {
                k: float(m.loc[(target, "hierarchical"), k] - m.loc[(target, "eb"), k])
                for k in ("log_loss", "brier")
            }
        return out


def _split(codes, s_email, s_topic, s_ts):
    """Cut-off per pair (time of its last send) and the held-out outcomes."""
    n_t = len(codes.topics)
    if codes.ts_ns is None:
        raise ValueError("the backtest needs event timestamps")
    key = codes.email * n_t + codes.topic
    is_send = codes.etype == _SEND
    sk, sts, smsg = key[is_send], codes.ts_ns[is_send], codes.msg[is_send]
    order = np.lexsort((smsg, sts, sk))
    sk, sts, smsg = sk[order], sts[order], smsg[order]
    last = np.r_[sk[1:] != sk[:-1], True]
    n_sends = np.diff(np.r_[0, np.flatnonzero(last) + 1])
    pair_key, cut, last_msg = sk[last], sts[last], smsg[last]
    # cut-off of every event / table row (pairs without sends: +inf, i.e. all training)
    pos = np.searchsorted(pair_key, key)
    pos_c = np.minimum(pos, len(pair_key) - 1)
    found = (pos < len(pair_key)) & (pair_key[pos_c] == key)
    ev_cut = np.where(found, cut[pos_c], np.iinfo(np.int64).max)
    skey = s_email * n_t + s_topic
    spos = np.minimum(np.searchsorted(pair_key, skey), len(pair_key) - 1)
    sfound = (len(pair_key) > 0) & (pair_key[spos] == skey)
    su_cut = np.where(sfound, cut[spos], np.iinfo(np.int64).max)
    event_mask = codes.ts_ns < ev_cut
    signup_mask = s_ts < su_cut if s_ts is not None else np.ones(len(s_email), bool)
    # held-out outcomes per pair (indexed like pair_key)
    click_last = np.zeros(len(pair_key), bool)
    ic = (codes.etype == _CLICK) & found
    click_last[pos_c[ic][codes.msg[ic] == last_msg[pos_c[ic]]]] = True
    signup_after = np.zeros(len(pair_key), bool)
    isu = (codes.etype == _SIGNUP) & found & ~event_mask
    signup_after[pos_c[isu]] = True
    if s_ts is not None:
        signup_after[spos[sfound & ~signup_mask]] = True
    holdout = pd.DataFrame(
        {
            "key": pair_key,
            "total_sends": n_sends,
            "click": click_last.astype(int),
            "signup": signup_after.astype(int),
        }
    )
    return event_mask, signup_mask, holdout


def backtest(
    events: pd.DataFrame,
    topic_of_campaign: pd.Series,
    signups: pd.DataFrame | None = None,
    *,
    truth: pd.DataFrame | None = None,
    model: HierarchicalSignupModel | None = None,
) -> BacktestResult:
    """Hold out each pair's last send; compare seed EB and the hierarchical model.

    ``events``/``signups`` are validated frames (:func:`bayes.signup.data.load_inputs`) or
    generator output; ``truth`` (from the generator) adds RMSE against the true rates and the
    scores of the true rates themselves.
    """
    codes = encode_events(events, topic_of_campaign)
    s_email, s_topic, s_ts = encode_signups(signups, topic_of_campaign, codes)
    event_mask, signup_mask, hold = _split(codes, s_email, s_topic, s_ts)
    train = aggregate_pairs(codes, s_email, s_topic, event_mask=event_mask, signup_mask=signup_mask)
    n_t = len(codes.topics)
    train_key = (
        train["email"].cat.codes.to_numpy(np.int64) * n_t + train["topic"].cat.codes.to_numpy()
    )
    hold = hold[hold["total_sends"] >= 2]
    idx = pd.Index(train_key).get_indexer(hold["key"].to_numpy())
    hold = hold[idx >= 0]
    idx = idx[idx >= 0]
    priors = topic_priors(train)
    eb = eb_scores(train, priors)
    model = model if model is not None else HierarchicalSignupModel()
    if not hasattr(model, "idata_"):
        model.fit(train)
    hier = model.pair_table(train)
    out = train.iloc[idx][["email", "topic", "sends", "clicks", "signed_up"]].reset_index(drop=True)
    out["click"] = hold["click"].to_numpy()
    out["signup"] = hold["signup"].to_numpy()
    for name, frame in (("eb", eb), ("hierarchical", hier)):
        out[f"p_click_{name}"] = frame["p_click"].to_numpy()[idx]
        out[f"p_signup_{name}"] = frame["p_signup"].to_numpy()[idx]
    methods = ["eb", "hierarchical"]
    if truth is not None:
        t = truth.set_index(["email", "topic"])
        look = pd.MultiIndex.from_arrays([out["email"].astype(str), out["topic"].astype(str)])
        pos = t.index.get_indexer(look)
        ok = pos >= 0
        out["p_click_truth"] = np.where(ok, t["p_click"].to_numpy()[pos], np.nan)
        out["p_signup_truth"] = np.where(ok, t["p_signup"].to_numpy()[pos], np.nan)
        methods.append("truth")
    rows = []
    for target in ("click", "signup"):
        y = out[target].to_numpy()
        for m in methods:
            p = out[f"p_{target}_{m}"].to_numpy()
            row = {
                "target": target,
                "method": m,
                "n": len(y),
                "events": int(y.sum()),
                "log_loss": log_loss(y, p),
                "brier": brier_score(y, p),
                "mean_p": float(p.mean()),
            }
            if truth is not None:
                tr = out[f"p_{target}_truth"].to_numpy()
                row["rmse_vs_truth"] = float(np.sqrt(np.nanmean((p - tr) ** 2)))
            rows.append(row)
    info = {"n_pairs_train": int(len(train)), "n_holdout": int(len(out))}
    return BacktestResult(pd.DataFrame(rows), out, model, info)
