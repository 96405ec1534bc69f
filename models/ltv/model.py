"""The LTV model on the workbench contract: BG/NBD + Gamma-Gamma, optionally by segment.

:class:`LTVModel` is a :class:`models.base.BayesianModel` (domain ``ltv``, entity
``customer_id``). ``fit(rfm)`` takes one row per customer — ``frequency``, ``recency``, ``T``
in the model's ``time_unit``, optionally ``monetary_value`` (mean value of the positive-value
repeat purchases), ``spend_frequency`` (their number) and a segment column — compresses it,
samples the posterior with NUTS (dense mass matrix, log-scale parameters) and stores
everything needed to predict in the NetCDF. ``predict`` returns xarray with
``chain, draw, customer_id``: P(alive), expected purchases, expected spend and discounted
6/12-month LTV; :meth:`LTVModel.purchase_probabilities` the probability of ``n`` purchases in a
period, :meth:`LTVModel.p_alive_matrix` P(alive) over frequency x recency.

Segments (``segment="country"``): every parameter varies by segment, with partial pooling
(``pooling="partial"``, hierarchical: the segments' log-parameters scatter around a population
median with a declared spread) or none (``pooling="none"``: independent fits, one model). The
likelihood stays compressed per segment, so the cost does not grow with the customers.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from models.base import BayesianModel
from models.ltv.closed_form import (
    discounted_expected_purchases,
    discounted_purchases_if_alive,
    expected_purchases_if_alive,
    expected_purchases_new,
    expected_spend,
    prob_alive,
    prob_n_purchases,
)
from models.ltv.likelihood import (
    CompressedRFM,
    CompressedSpend,
    bgnbd_loglike_factored,
    bgnbd_terms,
    check_rfm,
    compress_rfm,
    compress_spend,
    gamma_gamma_loglike_factored,
    gamma_gamma_terms,
)
from models.ltv.simulate import simulate_bgnbd
from models.ltv.units import canonical_unit, days_per_unit, units_per_month
from models.sampling import sample
from priors.ltv import (
    BGNBD_PARAMS,
    DECLARED_TIME_UNIT,
    GAMMA_GAMMA_PARAMS,
    LTV_PRIORS,
    POOLINGS,
    add_ltv_parameters,
    ltv_prior_names,
    rescale_time,
    segment_sd_name,
)
from priors.spec import PriorSet

__all__ = ["LOGLIK_MAX_VALUES", "LTVData", "LTVModel", "RFM_COLUMNS"]

RFM_COLUMNS: tuple[str, ...] = ("frequency", "recency", "T")
#: the ``log_likelihood`` group (one value per customer and draw) is stored when
#: customers x chains x draws is at most this (80 MB); larger fits compute it on demand
LOGLIK_MAX_VALUES = 10_000_000

#: customers in the smallest segment (the whole data, unsegmented) from which a fit runs NUTS's
#: trajectories on the likelihoods' quadratic expansions (:mod:`models.ltv.surrogate`): there
#: the expansion is close enough that nearly every transition is accepted (measured: see
#: docs/ltv.md), and the fit's cost no longer grows with the compressed rows
SURROGATE_MIN_CUSTOMERS = 20_000
_FREQ_BINS = 8  # posterior predictive: customers by repeat purchases 0..6 and 7+


@dataclass(frozen=True)
class LTVData:
    """Validated per-customer data and its compressed forms (what the PyMC model sees)."""

    customer_id: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    m: np.ndarray | None
    x_spend: np.ndarray | None
    segment: np.ndarray | None  # integer codes into segments
    segments: tuple[str, ...] | None
    rfm: CompressedRFM
    spend: CompressedSpend | None
    paid_share: float

    @property
    def n_customers(self) -> int:
        return int(self.x.size)


def _ids(data: pd.DataFrame) -> np.ndarray:
    if "customer_id" in data.columns:
        ids = data["customer_id"]
    else:
        ids = data.index
    ids = np.asarray(pd.Index(ids).astype(str), dtype=object)
    if pd.Index(ids).has_duplicates:
        dup = pd.Index(ids)[pd.Index(ids).duplicated()][:5].tolist()
        raise ValueError(f"duplicate customer_id {dup}: one row per customer is expected")
    return ids


def _bad(ids, mask, what: str) -> ValueError:
    shown = ", ".join(map(str, ids[np.asarray(mask)][:5]))
    n = int(np.sum(mask))
    return ValueError(f"{what} (customers {shown}{' ...' if n > 5 else ''}; {n} rows)")


def _warn_infinite_spend(q, segment_codes) -> None:
    """Warn when some draws have ``q <= 1``: the Gamma-Gamma mean spend ``p v / (q - 1)`` is
    infinite there, so expected spend and LTV are NaN at those draws (by design, not a bug).
    Segments unseen in the fit draw ``q`` from the population, where this is most likely."""
    bad = np.asarray(q) <= 1.0  # (chain, draw, rows): rows are customers or one column
    if not bad.any():
        return
    share = bad.reshape(-1, bad.shape[-1]).mean(axis=0)
    rows = int((share > 0).sum()) if bad.shape[-1] > 1 else "all"
    unseen = segment_codes is not None and np.any(np.asarray(segment_codes) < 0)
    warnings.warn(
        f"{share.max():.1%} of the posterior draws have q <= 1 for {rows} customers "
        "(the Gamma-Gamma mean spend p v / (q - 1) is infinite there): their expected_spend "
        "and LTV are NaN at those draws; summarise with NaN-aware reductions"
        + (" (segments unseen in the fit draw q from the population)" if unseen else ""),
        UserWarning,
        stacklevel=3,
    )


class LTVModel(BayesianModel):
    """BG/NBD (purchases, P(alive)) + Gamma-Gamma (spend) customer lifetime value.

    Parameters
    ----------
    priors
        A :class:`~priors.spec.PriorSet` or a mapping of overrides of
        :data:`priors.ltv.LTV_PRIORS` (``alpha`` stated in weeks, whatever ``time_unit``).
    sampler
        A :class:`~models.sampling.SamplerConfig` (or its dict).
    time_unit
        Unit of ``recency`` and ``T``: ``"D"``, ``"W"`` (default) or ``"M"``. Carried in the
        posterior's ``time_unit`` attr and used for every prediction.
    segment
        Optional column of the data whose values are segments (country, device, channel...).
    pooling
        With ``segment``: ``"partial"`` (hierarchical, default) or ``"none"`` (independent).
    spend
        Fit Gamma-Gamma (``None``: when the data have ``monetary_value``).
    surrogate
        Run NUTS's trajectories on each segment's quadratic likelihood expansion and accept
        every transition against the exact likelihood (:mod:`models.ltv.surrogate`: exact
        draws, one likelihood pass per iteration instead of ~15). ``None`` (default): when
        every segment (the whole data, unsegmented) has at least
        :data:`SURROGATE_MIN_CUSTOMERS` customers; PyMC backend only.
    """

    domain: ClassVar[str] = "ltv"
    entity: ClassVar[str] = "customer_id"
    time_unit = "week"

    def __init__(
        self,
        priors=None,
        sampler=None,
        *,
        time_unit: str = "W",
        segment: str | None = None,
        pooling: str = "partial",
        spend: bool | None = None,
        surrogate: bool | None = None,
    ):
        super().__init__(priors=priors, sampler=sampler)
        self.time_unit = time_unit
        self.segment = segment
        self.pooling = pooling
        self.spend = spend
        self.surrogate = surrogate

    # ------------------------------------------------------------------ configuration
    @classmethod
    def default_priors(cls) -> PriorSet:
        return LTV_PRIORS

    @property
    def spend_(self) -> bool:
        return bool(getattr(self, "fitted_spend_", True if self.spend is None else self.spend))

    @property
    def priors_(self) -> PriorSet:
        """The priors in use (declared unit: weeks), only the entries this configuration uses."""
        full = super().priors_
        names = ltv_prior_names(spend=self.spend_, pooling=self.pooling if self.segment else None)
        return full.subset([n for n in names if n in full])

    @property
    def units_per_week(self) -> float:
        return days_per_unit(DECLARED_TIME_UNIT) / days_per_unit(self.time_unit)

    def priors_in_unit(self) -> PriorSet:
        """The priors with durations in the model's time unit (what the PyMC model uses)."""
        return rescale_time(self.priors_, self.units_per_week, f"{canonical_unit(self.time_unit)}s")

    def _param_names(self) -> list[str]:
        return list(BGNBD_PARAMS) + (list(GAMMA_GAMMA_PARAMS) if self.spend_ else [])

    # ------------------------------------------------------------------ data
    def _validate_config(self) -> None:
        self.time_unit = canonical_unit(self.time_unit)
        if self.segment is not None and self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.surrogate not in (None, True, False):
            raise ValueError(f"surrogate must be True, False or None, got {self.surrogate!r}")

    def _prepare(self, data: pd.DataFrame, *, predicting: bool = False) -> LTVData:
        """Validate one row per customer and compress it (``ValueError`` naming customers)."""
        self._validate_config()
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"expected a DataFrame of RFM rows, got {type(data).__name__}")
        missing = [c for c in RFM_COLUMNS if c not in data.columns]
        if missing:
            raise ValueError(f"missing RFM column(s) {missing}; found {list(data.columns)}")
        ids = _ids(data)
        try:
            x, t_x, T = check_rfm(*(data[c].to_numpy(float) for c in RFM_COLUMNS))
        except ValueError:
            x, t_x, T = (np.asarray(data[c], float) for c in RFM_COLUMNS)
            with np.errstate(invalid="ignore"):
                bad = ~np.isfinite(x + t_x + T) | (x < 0) | (x != np.round(x)) | (t_x < 0)
                bad |= (T <= 0) | (t_x > T * (1 + 1e-12)) | ((x == 0) & (t_x > 0))
            raise _bad(
                ids,
                bad,
                "invalid RFM rows: frequency a whole number >= 0, 0 <= recency <= T, T > 0, "
                "recency 0 without repeat purchases",
            ) from None
        if predicting:
            spend = self.spend_
        else:
            spend = ("monetary_value" in data.columns) if self.spend is None else bool(self.spend)
        m = x_spend = spend_rows = None
        paid_share = 1.0
        seg = segments = None
        if self.segment is not None:
            if self.segment not in data.columns:
                raise ValueError(f"no segment column {self.segment!r}; found {list(data.columns)}")
            labels = data[self.segment].astype(str).to_numpy()
            if not predicting:
                segments = tuple(str(v) for v in pd.unique(labels))
                segments = tuple(sorted(segments))
                if len(segments) < 2:
                    raise ValueError(
                        f"segment column {self.segment!r} has a single value {segments}; "
                        "fit without --segment"
                    )
            else:
                segments = tuple(self.segments_)
            seg = pd.Categorical(labels, categories=list(segments)).codes.astype(np.int64)
        if spend:
            if "monetary_value" not in data.columns:
                raise ValueError("a spend model needs a monetary_value column")
            m = data["monetary_value"].to_numpy(float)
            with np.errstate(invalid="ignore"):
                bad = ~np.isfinite(m) | (m < 0)
            if bad.any():
                raise _bad(ids, bad, "monetary_value must be finite and >= 0")
            if "spend_frequency" in data.columns:
                x_spend = data["spend_frequency"].to_numpy(float)
                bad = (
                    ~np.isfinite(x_spend)
                    | (x_spend < 0)
                    | (x_spend > x)
                    | ((x_spend > 0) != (m > 0))
                )
                if bad.any():
                    raise _bad(
                        ids, bad, "spend_frequency must lie in [0, frequency], > 0 iff monetary > 0"
                    )
            else:
                x_spend = np.where(m > 0, x, 0.0)
            m = np.where(x_spend > 0, m, 0.0)
            spend_rows = compress_spend(x_spend, m, seg)
            if not predicting and spend_rows.n_unique == 0:
                raise ValueError(
                    "Gamma-Gamma needs at least one customer with a positive-value repeat "
                    "purchase; fit without spend (no monetary_value) instead"
                )
            paid_share = float(x_spend.sum() / x.sum()) if x.sum() > 0 else 1.0
        rfm = compress_rfm(x, t_x, T, seg)  # unseen segments (predict) keep code -1
        return LTVData(ids, x, t_x, T, m, x_spend, seg, segments, rfm, spend_rows, paid_share)

    def _data_hash(self, prepared: LTVData) -> str:
        h = hashlib.sha256()
        h.update("\x1f".join(prepared.customer_id).encode())
        for arr in (prepared.x, prepared.t_x, prepared.T, prepared.m, prepared.x_spend):
            if arr is not None:
                h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
        if prepared.segment is not None:
            h.update("\x1f".join(prepared.segments).encode())
            h.update(prepared.segment.tobytes())
        return h.hexdigest()

    # ------------------------------------------------------------------ model
    def build_model(
        self,
        prepared: LTVData,
        *,
        pooling: str | None = None,
        pilot: dict | None = None,
        surrogate: dict | None = None,
    ):
        """The PyMC model: declared priors (in the fit's time unit) + compressed likelihoods.

        ``pooling`` overrides the model's (the pilot of a partial-pooling fit is the
        ``"none"`` model) and ``pilot`` (per parameter: each segment's estimate and standard
        error) sets how the segments are sampled (:func:`~priors.ltv.add_ltv_parameters`).

        The unique rows and their counts are registered as ``pm.Data`` (``row_*``,
        ``spend_row_*``) so the NetCDF carries what the likelihood saw (``constant_data``): a
        reviewer can recompute it from the file. They are records: the likelihood nodes
        (:class:`~models.ltv.likelihood.BGNBDKernel`,
        :class:`~models.ltv.likelihood.GammaGammaKernel`) hold the compressed arrays.

        ``surrogate`` (``{"bgnbd": ...}``, a :class:`~models.ltv.surrogate.QuadraticLoglike`)
        replaces the BG/NBD likelihood by its expansion (Gamma-Gamma stays exact): the model
        whose trajectories :class:`~models.ltv.surrogate.SurrogateNUTS` follows.
        """
        import pymc as pm

        seg = prepared.segment is not None
        comp, sp = prepared.rfm, prepared.spend
        self.fitted_spend_ = sp is not None
        coords = {"rfm_row": np.arange(comp.n_unique)}
        if seg:
            coords["segment"] = list(prepared.segments)
        if sp is not None:
            coords["spend_row"] = np.arange(sp.n_unique)
        n_seg = len(prepared.segments) if seg else 1
        with pm.Model(coords=coords) as model:
            theta = add_ltv_parameters(
                self.priors_in_unit(),
                self._param_names(),
                segment_dim="segment" if seg else None,
                pooling=pooling or self.pooling,
                pilot=pilot,
            )
            for name, values in (
                ("row_frequency", comp.x),
                ("row_recency", comp.t_x),
                ("row_T", comp.T),
                ("row_count", comp.weight),
            ):
                pm.Data(name, values, dims="rfm_row")
            if seg:
                pm.Data("row_segment", comp.segment, dims="rfm_row")
            bg = [theta[k] for k in BGNBD_PARAMS]
            if surrogate is None:
                ll = bgnbd_loglike_factored(*bg, comp, n_seg)
            else:
                from models.ltv.surrogate import quadratic_node

                ll = quadratic_node(surrogate["bgnbd"], *bg)
            pm.Potential("bgnbd_loglike", ll)
            if sp is not None:
                pm.Data("spend_row_frequency", sp.x, dims="spend_row")
                pm.Data("spend_row_monetary_value", sp.m, dims="spend_row")
                pm.Data("spend_row_count", sp.weight, dims="spend_row")
                if seg:
                    pm.Data("spend_row_segment", sp.segment, dims="spend_row")
                gg = [theta[k] for k in GAMMA_GAMMA_PARAMS]
                ll_s = gamma_gamma_loglike_factored(*gg, sp, n_seg)
                pm.Potential("gamma_gamma_loglike", ll_s)
        return model

    def _uses_surrogate(self, prepared: LTVData, cfg) -> bool:
        if cfg.backend != "pymc":
            return False
        if self.surrogate is not None:
            return self.surrogate
        counts = (
            np.bincount(prepared.segment, minlength=len(prepared.segments))
            if prepared.segment is not None
            else np.array([prepared.n_customers])
        )
        return int(counts.min()) >= SURROGATE_MIN_CUSTOMERS

    def _expansions(self, prepared: LTVData, centers: dict) -> dict:
        """The BG/NBD likelihood's quadratic expansion at ``centers`` (``log theta`` by
        parameter, per segment): what the surrogate model's trajectories follow. Gamma-Gamma
        stays exact in them: its likelihood has a ridge along ``q`` and ``v`` that a quadratic
        follows poorly (with its expansion too, 10 segments × 20,000 customers: 0.87 accepted,
        3% divergent trajectories; see docs/ltv.md)."""
        from models.ltv.likelihood import BGNBDKernel
        from models.ltv.surrogate import quadratic_expansion

        n_seg = len(prepared.segments) if prepared.segment is not None else 1
        center = np.stack(
            [np.broadcast_to(np.asarray(centers[n], float), (n_seg,)) for n in BGNBD_PARAMS]
        )
        return {"bgnbd": quadratic_expansion(BGNBDKernel(prepared.rfm, n_seg), center)}

    def _sample(self, prepared: LTVData, cfg):
        """NUTS started from the Laplace pilot (:mod:`models.ltv.start`), on large data with
        surrogate trajectories (:mod:`models.ltv.surrogate`).

        Returns ``(idata, model, record)``; ``record`` says how the segments were
        parameterised and sampled."""
        from models.ltv import start as S

        names = self._param_names()
        partial = prepared.segment is not None and self.pooling == "partial"
        if cfg.backend != "pymc":  # nutpie and numpyro adapt their own mass matrix
            model = self.build_model(prepared)
            return sample(model, cfg), model, {}
        record, pilot = {}, None
        if partial:
            indep = self.build_model(prepared, pooling="none")
            fit = S.laplace(indep)
            pilot = S.segment_pilot(fit, indep, names)
            model = self.build_model(prepared, pilot=pilot)
            start = S.hierarchical_start(model, names, pilot)
            centers = {n: pilot[n][0] for n in names}
            segs = list(prepared.segments)
            record = {
                n: {
                    "segment": segs,
                    "log_estimate": np.round(pilot[n][0], 4).tolist(),
                    "standard_error": np.round(pilot[n][1], 4).tolist(),
                    **({"spread_scale": round(float(pilot[n][2]), 6)} if len(pilot[n]) > 2 else {}),
                }
                for n in names
            }
        else:
            model = self.build_model(prepared)
            start = S.laplace(model)  # its covariance is the first mass matrix as it is
            centers = {n: start.point[f"log_{n}"] for n in names}
        if not self._uses_surrogate(prepared, cfg):
            idata = sample(model, cfg, **S.sample_kwargs(model, start, cfg))
            return idata, model, record
        from models.laplace import compiled_logp
        from models.ltv.surrogate import LogWeight, SurrogateNUTS

        sur = self.build_model(prepared, pilot=pilot, surrogate=self._expansions(prepared, centers))
        if not isinstance(
            start, dict
        ):  # the exact Laplace fit: its point, the surrogate's curvature
            start = start.point
        weight = LogWeight(compiled_logp(model), compiled_logp(sur))
        kwargs = S.sample_kwargs(sur, start, cfg, step_cls=SurrogateNUTS, log_weight=weight)
        idata = sample(sur, cfg, **kwargs)
        record["sampler"] = {
            "method": "surrogate-transition NUTS (models.ltv.surrogate)",
            "acceptance": round(float(idata.sample_stats["surrogate_accept"].mean()), 4),
        }
        return idata, model, record

    def _fit_idata(self, prepared):
        import pymc as pm

        cfg = self.sampler_
        self.fitted_spend_ = prepared.spend is not None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*Potential.*", category=UserWarning)
            idata, model, record = self._sample(prepared, cfg)
            with model:  # a small graph: FAST_COMPILE beats compiling it to C (as in the base)
                prior = pm.sample_prior_predictive(
                    draws=min(500, cfg.draws * cfg.chains),
                    random_seed=cfg.seed + 1,
                    compile_kwargs={"mode": "FAST_COMPILE"},
                )
        idata.extend(prior)
        sampler = record.pop("sampler", None)
        if sampler:
            idata.attrs["ltv_sampler"] = json.dumps(sampler)
        if record:
            idata.attrs["ltv_pilot"] = json.dumps(record)
        self._add_groups(idata, None, prepared)
        return idata

    def _diag_vars(self, idata) -> list[str]:
        names = self._param_names()
        if self.segment and self.pooling == "partial":
            names = names + [f"{n}_median" for n in names] + [segment_sd_name(n) for n in names]
        return [n for n in names if n in idata.posterior]

    def _data_groups(self, prepared: LTVData) -> dict:
        cid = ("customer_id", prepared.customer_id)
        data = {
            "frequency": ("customer_id", prepared.x),
            "recency": ("customer_id", prepared.t_x),
            "T": ("customer_id", prepared.T),
            "paid_share": ((), prepared.paid_share),
        }
        if prepared.m is not None:
            data["monetary_value"] = ("customer_id", prepared.m)
            data["spend_frequency"] = ("customer_id", prepared.x_spend)
        coords = {"customer_id": cid[1]}
        if prepared.segment is not None:
            data["customer_segment"] = ("customer_id", prepared.segment)
            coords["segment"] = list(prepared.segments)
        return {"constant_data": xr.Dataset(data, coords=coords)}

    def _add_groups(self, idata, model, prepared: LTVData) -> None:
        self._add_frequency_ppc(idata, prepared)
        total = (
            prepared.n_customers * idata.posterior.sizes["chain"] * idata.posterior.sizes["draw"]
        )
        if total <= LOGLIK_MAX_VALUES:
            idata.add_groups(log_likelihood=self._pointwise(idata.posterior, prepared))
            idata.attrs["log_likelihood"] = "per customer (BG/NBD + Gamma-Gamma): ltv"
        else:
            idata.attrs["log_likelihood"] = (
                f"not stored ({prepared.n_customers:,} customers x draws > "
                f"{LOGLIK_MAX_VALUES:,} values); LTVModel.log_likelihood() computes it"
            )

    def fit(self, data, *, source=None, extra_attrs=None):
        """Condition the priors on one RFM row per customer (see the class docstring)."""
        self._validate_config()
        attrs = {
            "ltv_segment": self.segment or "",
            "ltv_pooling": self.pooling if self.segment else "",
            **(extra_attrs or {}),
        }
        super().fit(data, source=source, extra_attrs=attrs)
        self.idata_.attrs["ltv_model"] = "BG/NBD" + (" + Gamma-Gamma" if self.spend_ else "")
        return self

    def _restore(self, idata) -> None:
        attrs = idata.attrs
        self.time_unit = canonical_unit(attrs.get("time_unit") or "week")
        self.segment = attrs.get("ltv_segment") or None
        if self.segment:
            self.pooling = attrs.get("ltv_pooling") or "partial"
        self.fitted_spend_ = "p" in idata.posterior
        cd = idata.constant_data
        frame = {c: cd[c].values for c in RFM_COLUMNS}
        if "monetary_value" in cd:
            frame["monetary_value"] = cd["monetary_value"].values
            frame["spend_frequency"] = cd["spend_frequency"].values
        self.segments_ = None
        if "customer_segment" in cd:
            self.segments_ = tuple(str(s) for s in cd["segment"].values)
            frame[self.segment] = np.asarray(self.segments_, dtype=object)[
                cd["customer_segment"].values
            ]
        index = pd.Index(cd["customer_id"].values.astype(str), name="customer_id")
        self.data_ = pd.DataFrame(frame, index=index)
        self.paid_share_ = float(cd["paid_share"].values)

    # ------------------------------------------------------------------ draws
    def _draws(self, draws: int | None):
        """The posterior (natural-scale parameters), thinned to about ``draws`` draws."""
        self.check_fitted()
        post = self.idata_.posterior
        names = self._param_names()
        extra = [f"log_{n}_median" for n in names] + [segment_sd_name(n) for n in names]
        post = post[[v for v in names + extra if v in post]]
        n_chain, n_draw = post.sizes["chain"], post.sizes["draw"]
        if draws is not None and draws < n_chain * n_draw:
            per = max(1, int(draws) // n_chain)
            post = post.isel(draw=np.unique(np.linspace(0, n_draw - 1, per).round().astype(int)))
        return post

    def _theta_rows(self, post, seg_codes, *, seed: int = 0) -> dict[str, np.ndarray]:
        """Parameters per row: ``(chain, draw, rows)`` arrays (``seg_codes`` index segments;
        ``-1`` marks a segment unseen in the fit, which under partial pooling gets draws from
        the population: ``log theta = log theta_median + sd * z``, ``z ~ Normal(0, 1)``)."""
        out = {}
        rng = np.random.default_rng(seed)
        for n in self._param_names():
            vals = post[n].values
            if vals.ndim == 2:  # pooled: (chain, draw)
                out[n] = vals[..., None]
                continue
            codes = np.asarray(seg_codes)
            theta = vals[..., np.maximum(codes, 0)]
            new = codes < 0
            if new.any():
                if self.pooling != "partial":
                    raise ValueError(
                        "segments unseen in the fit can only be predicted under partial pooling"
                    )
                z = rng.standard_normal(vals.shape[:2] + (1,))
                med = post[f"log_{n}_median"].values[..., None]
                sd = post[segment_sd_name(n)].values[..., None]
                theta = np.where(new, np.exp(med + sd * z), theta)
            out[n] = theta
        return out

    def _customers(self, data) -> LTVData:
        if data is None:
            self.check_fitted()
            data = self.data_
        return self._prepare(data, predicting=True)

    # ------------------------------------------------------------------ predictions
    def predict(
        self,
        data: pd.DataFrame | None = None,
        *,
        horizon: float | None = None,
        months: Sequence[int] = (6, 12),
        discount_rate: float = 0.01,
        draws: int | None = None,
        seed: int = 0,
    ) -> xr.Dataset:
        """Per-customer predictions with ``chain, draw, customer_id`` dims.

        Variables: ``p_alive``; ``expected_purchases`` in ``(T, T + horizon]`` (``horizon`` in
        the model's time unit; default six months); with spend, ``expected_spend`` (of a
        positive-value purchase) and ``ltv_<m>m`` for each of ``months``: discounted revenue
        over ``m`` months at the monthly ``discount_rate`` (see :func:`~models.ltv.clv`).
        ``data`` (default: the fitted customers) is an RFM frame like the one fitted;
        ``draws`` thins the posterior (memory is draws x customers per variable).
        """
        if not discount_rate >= 0 or not np.isfinite(discount_rate):
            raise ValueError(f"discount_rate must be finite and >= 0, got {discount_rate!r}")
        prep = self._customers(data)
        upm = units_per_month(self.time_unit)
        horizon = 6 * upm if horizon is None else float(horizon)
        if not horizon >= 0:
            raise ValueError(f"horizon must be >= 0, got {horizon!r}")
        post = self._draws(draws)
        comp = prep.rfm
        th = self._theta_rows(post, comp.segment, seed=seed)
        bg = [th[k] for k in BGNBD_PARAMS]
        # the 2F1 part depends on (segment, x, T) only: evaluated once per distinct triple
        key = np.column_stack([comp.segment, comp.x, comp.T])
        uniq, first, back = np.unique(key, axis=0, return_index=True, return_inverse=True)
        back = back.ravel()
        bg_xT = [v if v.shape[-1] == 1 else v[..., first] for v in bg]
        xT = (uniq[:, 1], uniq[:, 2])
        inv = comp.inverse
        out = {}
        with np.errstate(all="ignore"):
            p_alive = prob_alive(*bg, comp.x, comp.t_x, comp.T)
            out["p_alive"] = p_alive[..., inv]
            alive = expected_purchases_if_alive(horizon, *bg_xT, *xT)
            out["expected_purchases"] = (alive[..., back] * p_alive)[..., inv]
            if self.spend_:
                cust_codes = (
                    np.zeros(prep.n_customers, np.int64) if prep.segment is None else prep.segment
                )
                gg = self._theta_rows(post, cust_codes, seed=seed)
                spend = expected_spend(*(gg[k] for k in GAMMA_GAMMA_PARAMS), prep.x_spend, prep.m)
                _warn_infinite_spend(gg["q"], prep.segment)
                out["expected_spend"] = spend
                for mo in months:
                    n = discounted_purchases_if_alive(
                        mo, *bg_xT, *xT, discount_rate=discount_rate, units_per_month=upm
                    )
                    n = n[..., back] * p_alive
                    out[f"ltv_{mo}m"] = spend * self.paid_share_ * n[..., inv]
        dims = ("chain", "draw", "customer_id")
        coords = {
            "chain": post["chain"].values,
            "draw": post["draw"].values,
            "customer_id": prep.customer_id,
        }
        ds = xr.Dataset({k: (dims, v) for k, v in out.items()}, coords=coords)
        ds.attrs.update(
            time_unit=self.time_unit,
            horizon=horizon,
            months=list(months),
            discount_rate=discount_rate,
            paid_share=self.paid_share_,
        )
        return ds

    def purchase_probabilities(
        self,
        n_max: int = 5,
        *,
        horizon: float | None = None,
        data: pd.DataFrame | None = None,
        draws: int | None = None,
        seed: int = 0,
    ) -> xr.DataArray:
        """P(exactly n purchases in ``(T, T + horizon]``) for ``n = 0..n_max``, dims
        ``chain, draw, customer_id, purchases`` (:func:`~models.ltv.prob_n_purchases`); the
        probability of more than ``n_max`` is one minus the sum."""
        prep = self._customers(data)
        horizon = 6 * units_per_month(self.time_unit) if horizon is None else float(horizon)
        post = self._draws(draws)
        comp = prep.rfm
        th = self._theta_rows(post, comp.segment, seed=seed)
        n = np.arange(int(n_max) + 1, dtype=float)
        with np.errstate(all="ignore"):
            probs = prob_n_purchases(
                n[:, None, None, None],
                horizon,
                *(th[k][None] for k in BGNBD_PARAMS),
                comp.x,
                comp.t_x,
                comp.T,
            )[..., comp.inverse]
        da = xr.DataArray(
            np.moveaxis(probs, 0, -1),
            dims=("chain", "draw", "customer_id", "purchases"),
            coords={
                "chain": post["chain"].values,
                "draw": post["draw"].values,
                "customer_id": prep.customer_id,
                "purchases": n.astype(int),
            },
            name="p_purchases",
        )
        da.attrs.update(time_unit=self.time_unit, horizon=horizon)
        return da

    def p_alive_matrix(
        self,
        *,
        max_frequency: int | None = None,
        T: float | None = None,
        n_recency: int = 41,
        segment: str | None = None,
        draws: int | None = None,
    ) -> xr.DataArray:
        """P(alive) over a frequency x recency grid for customers observed for ``T``
        (default: the longest ``T`` fitted), dims ``chain, draw, frequency, recency``.

        Cells with ``frequency == 0`` and ``recency > 0`` are impossible (NaN). In a segmented
        model, ``segment`` picks one (default: the population median under partial pooling,
        the segment with the most customers under ``pooling="none"``; named in ``attrs``).
        """
        self.check_fitted()
        d = self.data_
        T = float(d["T"].max()) if T is None else float(T)
        if max_frequency is None:
            max_frequency = int(min(max(np.quantile(d["frequency"], 0.99), 5), 60))
        freq = np.arange(int(max_frequency) + 1, dtype=float)
        rec = np.linspace(0.0, T, int(n_recency))
        post = self._draws(draws)
        if self.segment and segment is None and self.pooling != "partial":
            sizes = d[self.segment].astype(str).value_counts()
            segment = min(sizes.index, key=lambda s: (-sizes[s], s))  # largest, then by name
        th = {}
        for k in BGNBD_PARAMS:
            vals = post[k]
            if "segment" in vals.dims:
                if segment is None:
                    vals = np.exp(post[f"log_{k}_median"])
                else:
                    vals = vals.sel(segment=str(segment))
            th[k] = vals.values[..., None, None]
        X, R = np.meshgrid(freq, rec, indexing="ij")
        with np.errstate(all="ignore"):
            pa = prob_alive(*(th[k] for k in BGNBD_PARAMS), X, R, T)
        pa = np.where((X == 0) & (R > 0), np.nan, pa)
        da = xr.DataArray(
            pa,
            dims=("chain", "draw", "frequency", "recency"),
            coords={
                "chain": post["chain"].values,
                "draw": post["draw"].values,
                "frequency": freq.astype(int),
                "recency": rec,
            },
            name="p_alive",
        )
        da.attrs.update(time_unit=self.time_unit, T=T, segment=segment or "")
        return da

    # ------------------------------------------------------------------ likelihood
    def _pointwise(self, post, prep: LTVData) -> xr.Dataset:
        comp = prep.rfm
        th = self._theta_rows(post, comp.segment)
        with np.errstate(all="ignore"):
            ll = bgnbd_terms(*(th[k] for k in BGNBD_PARAMS), comp.x, comp.t_x, comp.T)[
                ..., comp.inverse
            ]
            if prep.spend is not None:
                cust = (
                    np.zeros(prep.n_customers, np.int64) if prep.segment is None else prep.segment
                )
                gg = self._theta_rows(post, cust)
                has = prep.x_spend > 0
                xs = np.where(has, prep.x_spend, 1.0)
                ms = np.where(has, prep.m, 1.0)
                ll = ll + np.where(
                    has, gamma_gamma_terms(*(gg[k] for k in GAMMA_GAMMA_PARAMS), xs, ms), 0.0
                )
        return xr.Dataset(
            {"ltv": (("chain", "draw", "customer_id"), ll)},
            coords={
                "chain": post["chain"].values,
                "draw": post["draw"].values,
                "customer_id": prep.customer_id,
            },
        )

    def log_likelihood(self, data: pd.DataFrame | None = None, draws: int | None = None):
        """Pointwise log-likelihood per customer (BG/NBD + Gamma-Gamma), ``chain, draw,
        customer_id`` — what ``az.loo`` needs; stored in the NetCDF for small fits."""
        return self._pointwise(self._draws(draws), self._customers(data))

    # ------------------------------------------------------------------ checks
    def _add_frequency_ppc(self, idata, prep: LTVData, max_draws=100, max_customers=20_000):
        """Posterior predictive counts of customers by repeat purchases (FHL05a Fig. 2)."""
        rng = np.random.default_rng(self.sampler_.seed)
        post = idata.posterior
        step = max(1, int(np.ceil(post.sizes["chain"] * post.sizes["draw"] / max_draws)))
        sel = post.isel(draw=slice(None, None, step))
        idx = np.arange(prep.n_customers)
        scale = 1.0
        if idx.size > max_customers:
            idx = np.sort(rng.choice(idx.size, max_customers, replace=False))
            scale = prep.n_customers / max_customers
        codes = np.zeros(idx.size, np.int64) if prep.segment is None else prep.segment[idx]
        th = self._theta_rows(sel, codes)
        c, d = sel.sizes["chain"], sel.sizes["draw"]
        x, _ = simulate_bgnbd(rng, *(th[k] for k in BGNBD_PARAMS), prep.T[idx])
        bins = np.minimum(x, _FREQ_BINS - 1).reshape(c * d, -1)
        counts = np.stack([np.bincount(row, minlength=_FREQ_BINS) for row in bins]) * scale
        labels = [str(i) for i in range(_FREQ_BINS - 1)] + [f"{_FREQ_BINS - 1}+"]
        obs = np.bincount(np.minimum(prep.x.astype(int), _FREQ_BINS - 1), minlength=_FREQ_BINS)
        idata.add_groups(
            posterior_predictive=xr.Dataset(
                {
                    "customers_by_frequency": (
                        ("chain", "draw", "frequency_bin"),
                        counts.reshape(c, d, _FREQ_BINS),
                    )
                },
                coords={
                    "chain": sel.chain.values,
                    "draw": sel.draw.values,
                    "frequency_bin": labels,
                },
            ),
            observed_data=xr.Dataset(
                {"customers_by_frequency": (("frequency_bin",), obs.astype(float))},
                coords={"frequency_bin": labels},
            ),
        )

    def summary(self, var_names=None, prob: float = 0.9):
        """Parameter table (natural scale; per segment where they vary)."""
        self.check_fitted()
        return super().summary(var_names or self._diag_vars(self.idata_), prob)

    # ------------------------------------------------------------------ without data
    def map(self, data: pd.DataFrame) -> dict:
        """Posterior mode of the parameters (``pm.find_MAP`` on the log scale); pooled only."""
        import pymc as pm

        prep = self._prepare(data)
        model = self.build_model(prep)
        with model, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            point = pm.find_MAP(progressbar=False, seed=0)
        return {k: np.asarray(point[k]).tolist() for k in self._param_names()}

    def prior_predictive(
        self, *, months: int = 12, discount_rate: float = 0.01, draws: int = 4000, seed: int = 0
    ) -> pd.DataFrame:
        """The prior predictive of the headline quantities, before any data: repeat purchases
        of a new customer over ``months`` and their discounted ``months``-month LTV (population
        mean spend), as median and central 90% interval (NumPy draws from the priors)."""
        from models.summaries import interval_dict

        rng = np.random.default_rng(seed)
        pri = self.priors_in_unit()
        th = {k: pri[k].sample(rng, draws) for k in self._param_names()}
        upm = units_per_month(self.time_unit)
        with np.errstate(all="ignore"):
            bg = [th[k] for k in BGNBD_PARAMS]
            n = expected_purchases_new(months * upm, *bg)
            rows = [(f"repeat purchases of a new customer in {months} months", n)]
            if self.spend_:
                spend = expected_spend(th["p"], th["q"], th["v"], 0.0, 0.0)
                disc = discounted_expected_purchases(
                    months, *bg, 0.0, 0.0, 0.0, discount_rate=discount_rate, units_per_month=upm
                )
                rows.append((f"{months}-month discounted LTV of a new customer", spend * disc))
        out = []
        for what, vals in rows:
            ok = np.isfinite(vals)
            rec = {"quantity": what}
            rec.update(interval_dict(vals[ok]) if ok.any() else {})
            rec["finite_share"] = float(ok.mean())
            out.append(rec)
        return pd.DataFrame(out)
