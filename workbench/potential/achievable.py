"""Achievable potential (notebook 01, section "Achievable potential: quantile regression"):
account revenue history and features, the quantile regression, ``score_potential`` and its
results by account, unit, territory and region."""

from __future__ import annotations

import dataclasses
import html
import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..config import UNASSIGNED, Quarter
from ..forecast import one_blas_thread
from ..frames import isin
from ..geo import unit_drivers
from ..plots import usd
from ..results import Results, Summary
from .index import (
    PER_HEAD,
    competitor_factor,
    competitor_pressure,
    default_index_weights,
    potential_index,
    unit_regions,
)

# ---------------------------------------------------------------------------------------------
# Account revenue history


def account_history(
    facts: pd.DataFrame, *, quarter: Quarter | str, quarters: int = 4
) -> pd.DataFrame:
    """Per account: won revenue in the trailing window and the two windows before it.

    Parameters
    ----------
    facts : DataFrame
        ``account_id``, ``quarter`` (``YYYYQn``), ``won_usd`` (USD), ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Last quarter of the trailing window; later facts are ignored.
    quarters : int
        Window length (4: a year).

    Returns
    -------
    DataFrame
        Index ``account_id``; ``revenue_usd`` (trailing window), ``prior_revenue_usd``
        (window before), ``prior2_revenue_usd`` (the one before that), ``won_n``, ``lost_n``
        (deals closed in the trailing window) and ``first_won_quarter`` (text, or empty).

    Examples
    --------
    >>> f = pd.DataFrame({"account_id": ["A", "A", "A"], "quarter": ["2025Q2", "2025Q3",
    ...                   "2026Q3"], "won_usd": [5.0, 7.0, 9.0], "won_n": [1, 1, 1],
    ...                   "lost_n": [0, 0, 2]})
    >>> h = account_history(f, quarter="2026Q3", quarters=4)
    >>> h.loc["A", ["revenue_usd", "prior_revenue_usd"]].tolist()  # 2025Q4+ hold 9; before: 5 + 7
    [9.0, 12.0]
    """
    q = Quarter.parse(quarter)
    f = facts.loc[facts["quarter"] <= str(q)]
    text = f["quarter"].astype(str)
    pos = q.index - (text.str[:4].astype(int) * 4 + text.str[-1].astype(int) - 1)
    window = (pos // quarters).rename("window")
    g = f.assign(window=window)
    rev = g.pivot_table(
        index="account_id", columns="window", values="won_usd", aggfunc="sum", fill_value=0.0
    )
    out = pd.DataFrame(index=pd.Index(sorted(f["account_id"].unique()), name="account_id"))
    for k, name in enumerate(["revenue_usd", "prior_revenue_usd", "prior2_revenue_usd"]):
        out[name] = rev[k].reindex(out.index).fillna(0.0) if k in rev.columns else 0.0
    recent = g[g["window"] == 0].groupby("account_id")[["won_n", "lost_n"]].sum()
    out[["won_n", "lost_n"]] = recent.reindex(out.index).fillna(0).astype(int)
    won = f[f["won_usd"] > 0].groupby("account_id")["quarter"].min()
    out["first_won_quarter"] = won.reindex(out.index).astype(object)
    return out


# ---------------------------------------------------------------------------------------------
# Regression method


def _nearest_unit(lat: np.ndarray, lon: np.ndarray, units: pd.DataFrame) -> np.ndarray:
    """Index (position) of the nearest unit centroid, by great-circle distance."""
    ulat, ulon = np.radians(units["lat"].to_numpy(float)), np.radians(units["lon"].to_numpy(float))
    out = np.empty(len(lat), dtype=int)
    for s in range(0, len(lat), 2048):
        a, b = np.radians(lat[s : s + 2048])[:, None], np.radians(lon[s : s + 2048])[:, None]
        h = np.sin((ulat - a) / 2) ** 2 + np.cos(a) * np.cos(ulat) * np.sin((ulon - b) / 2) ** 2
        out[s : s + 2048] = np.argmin(h, axis=1)
    return out


def account_features(accounts: pd.DataFrame, geo_units: pd.DataFrame) -> pd.DataFrame:
    """Firmographics and unit drivers per account, as the regression uses them.

    ``industry`` (text, missing → ``Unknown``), ``log_employees`` = ln(1 + employees), and per
    unit driver: ``pct_*`` columns as percentage points, other numeric columns as
    ``log_<name>`` = ln(1 + value). Missing driver values take the median over units.
    Accounts without a ``unit_id`` (or with an unknown one) get the nearest unit centroid.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``industry``, ``employees``, ``lat``, ``lon``; ``unit_id`` optional.
    geo_units : DataFrame
        ``unit_id``, ``lat``, ``lon`` and numeric driver columns.

    Returns
    -------
    DataFrame
        Same index as ``accounts``: ``unit_id``, ``industry``, ``log_employees`` and the
        driver features.
    """
    units = geo_units.reset_index(drop=True)
    uid = units["unit_id"].astype(str)
    unit = (
        accounts["unit_id"].astype(object)
        if "unit_id" in accounts.columns
        else pd.Series(None, index=accounts.index, dtype=object)
    )
    unknown = pd.Series(~isin(unit, uid), index=unit.index) | unit.isna()
    if unknown.any():
        near = _nearest_unit(
            accounts.loc[unknown, "lat"].to_numpy(float),
            accounts.loc[unknown, "lon"].to_numpy(float),
            units,
        )
        unit = unit.copy()
        unit.loc[unknown] = uid.to_numpy()[near]
    out = pd.DataFrame(index=accounts.index)
    out["unit_id"] = unit.astype(str)
    out["industry"] = (
        accounts["industry"]
        .astype(object)
        .where(accounts["industry"].notna(), "Unknown")
        .astype(str)
    )
    out["log_employees"] = np.log1p(accounts["employees"].astype(float).clip(lower=0).fillna(0))
    drivers = {}
    for col in unit_drivers(units):
        v = units[col].astype(float)
        v = v.fillna(v.median())
        name = col if col.startswith("pct_") else f"log_{col}"
        drivers[name] = (v if col.startswith("pct_") else np.log1p(v.clip(lower=0))).to_numpy()
    table = pd.DataFrame(drivers, index=uid)
    out = out.join(table, on="unit_id")
    return out


def _pinball(y: np.ndarray, q: np.ndarray, tau: float) -> float:
    d = y - q
    return float(np.mean(np.maximum(tau * d, (tau - 1) * d)))


@dataclasses.dataclass(frozen=True)
class EscapedText:
    """Preformatted text that shows in a notebook (and the report's HTML) escaped, so text
    from the CRM can never become markup or script."""

    text: str

    def __str__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


class AchievablePotentialModel:
    """Quantile regression of mature customers' annual spend (scikit-learn contract).

    ``ln(revenue) = β₀ + β₁ ln(1 + employees) + industry effects + unit drivers`` at quantile
    ``quantile``; because quantiles commute with monotone transforms, ``exp`` of the fitted
    value is the ``quantile``-th percentile of spend in USD.

    Parameters
    ----------
    quantile : float
        Upper quantile τ (0.8: what the best fifth of similar customers spend or more).
    min_industry_size : int
        Industries with fewer training customers pool into ``Other``.
    obs_per_coefficient : int
        With fewer training customers per coefficient, the unit drivers are left out.
    cv_folds : int
        Folds of the out-of-sample check.
    seed : int
        Seed of the fold assignment.

    Attributes
    ----------
    results_ : statsmodels QuantRegResults
    columns_ : list of str
        Design columns (``const``, ``log_employees``, ``industry[...]``, drivers).
    industries_ : list of str
        Industries with their own effect; the first is the reference.
    cv_ : DataFrame
        Per fold: held-out customers, share below the fitted quantile, pinball loss of the
        model and of the unconditional quantile, Spearman rank correlation.
    """

    def __init__(
        self,
        quantile: float = 0.8,
        *,
        min_industry_size: int = 10,
        obs_per_coefficient: int = 10,
        cv_folds: int = 5,
        seed: int = 0,
    ):
        self.quantile = quantile
        self.min_industry_size = min_industry_size
        self.obs_per_coefficient = obs_per_coefficient
        self.cv_folds = cv_folds
        self.seed = seed

    def _design(self, features: pd.DataFrame) -> pd.DataFrame:
        ind = features["industry"].astype(str)
        ind = ind.where(ind.isin(self.industries_), self._other_)
        x = pd.DataFrame(
            {"const": 1.0, "log_employees": features["log_employees"].astype(float)},
            index=features.index,
        )
        for level in self.industries_[1:]:
            x[f"industry[{level}]"] = (ind == level).astype(float)
        for col in self.drivers_:
            x[col] = features[col].astype(float)
        return x

    def fit(self, features: pd.DataFrame, revenue_usd: pd.Series) -> AchievablePotentialModel:
        """Fit on mature customers.

        Parameters
        ----------
        features : DataFrame
            :func:`account_features` rows of the training customers.
        revenue_usd : Series
            Their trailing-year won revenue (USD, > 0), same index.
        """
        from statsmodels.regression.quantile_regression import QuantReg

        if not 0 < self.quantile < 1:
            raise ValueError(f"quantile must be in (0, 1), got {self.quantile}")
        y = np.log(revenue_usd.astype(float)).rename("log_revenue_usd")
        if len(y) < 10 or not np.isfinite(y).all():
            raise ValueError(
                f"need at least 10 customers with positive revenue to fit, got "
                f"{int(np.isfinite(y).sum())}"
            )
        counts = features["industry"].astype(str).value_counts()
        big = counts[counts >= self.min_industry_size]
        small = counts.index.difference(big.index)
        self._other_ = "Other" if len(small) else (big.index[0] if len(big) else "Other")
        levels = list(big.index)
        if len(small):
            levels.append("Other")
        self.industries_ = levels or ["Other"]
        base_cols = 2 + len(self.industries_) - 1
        drivers = [c for c in features.columns if c not in ("unit_id", "industry", "log_employees")]
        enough = len(y) >= self.obs_per_coefficient * (base_cols + len(drivers))
        self.drivers_ = drivers if enough else []
        x = self._design(features)
        x = x.loc[:, (x != 0).any() | (x.columns == "const")]
        self.columns_ = list(x.columns)
        with warnings.catch_warnings(), one_blas_thread():
            warnings.simplefilter("ignore")
            self.results_ = QuantReg(y, x).fit(q=self.quantile, max_iter=5000)
            self.cv_ = self._cross_validate(x, y)
        self.n_obs_ = len(y)
        self.fitted_share_below_ = float(np.mean(y <= self.results_.fittedvalues + 1e-9))
        return self

    def _cross_validate(self, x: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
        from scipy.stats import spearmanr
        from statsmodels.regression.quantile_regression import QuantReg

        n, k = len(y), self.cv_folds
        if n < 2 * k:
            return pd.DataFrame(
                columns=[
                    "fold",
                    "held_out",
                    "share_below",
                    "pinball_model",
                    "pinball_null",
                    "spearman",
                ]
            )
        fold = np.random.default_rng(self.seed).permutation(np.arange(n) % k)
        rows = []
        yv, xv = y.to_numpy(), x.to_numpy()
        for f in range(k):
            train, test = fold != f, fold == f
            keep = (xv[train] != 0).any(axis=0)
            keep[0] = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = QuantReg(yv[train], xv[train][:, keep]).fit(q=self.quantile, max_iter=5000)
            pred = xv[test][:, keep] @ np.asarray(r.params)
            null = np.quantile(yv[train], self.quantile)
            rows.append(
                {
                    "fold": f + 1,
                    "held_out": int(test.sum()),
                    "share_below": float(np.mean(yv[test] <= pred)),
                    "pinball_model": _pinball(yv[test], pred, self.quantile),
                    "pinball_null": _pinball(yv[test], np.full(test.sum(), null), self.quantile),
                    "spearman": float(spearmanr(yv[test], pred).statistic),
                }
            )
        return pd.DataFrame(rows)

    def predict(self, features: pd.DataFrame) -> pd.Series:
        """Achievable annual spend (USD) at the fitted quantile, one value per row."""
        x = self._design(features)
        for col in self.columns_:
            if col not in x.columns:
                x[col] = 0.0
        log_q = x[self.columns_].to_numpy() @ np.asarray(self.results_.params)
        return pd.Series(np.exp(log_q), index=features.index, name="model_potential_usd")

    def regression_summary(self) -> EscapedText:
        """statsmodels' regression summary, as text (its own HTML would carry CRM text such as
        industry names into the report unescaped)."""
        return EscapedText(str(self.results_.summary()))

    def summary(self) -> Summary:
        """The coefficients (log USD) with standard error, t, p-value and 95 % interval; notes on
        the fit; the :meth:`diagnostics` as a section. statsmodels' own text summary is
        :meth:`regression_summary`."""
        r = self.results_
        ci = r.conf_int()
        table = pd.DataFrame(
            {
                "coef": r.params,
                "std_err": r.bse,
                "t": r.tvalues,
                "p_value": r.pvalues,
                "ci_lower": ci[0],
                "ci_upper": ci[1],
            }
        ).rename_axis("term")
        notes = [
            f"ln(annual revenue, USD) at quantile {self.quantile:.2f} of {self.n_obs_:,} mature "
            f"customers' spend; {len(self.columns_)} coefficients; pseudo R² "
            f"{float(r.prsquared):.3f}."
        ]
        extra = r.summary().extra_txt
        if extra:
            notes.append(" ".join(str(extra).split()))
        return Summary(
            table,
            title="Achievable potential: quantile regression",
            notes=notes,
            sections=[("Diagnostics", self.diagnostics())],
            float_format=lambda v: f"{v:,.4f}",
        )

    def diagnostics(self) -> pd.DataFrame:
        """In-sample and out-of-sample checks, one row per metric with what to expect."""
        tau = self.quantile
        cv = self.cv_
        rows = [
            ("training customers (mature)", self.n_obs_, "customers the quantile was learned from"),
            (
                "coefficients",
                len(self.columns_),
                "unit drivers dropped" if not self.drivers_ else "with unit drivers",
            ),
            (
                "pseudo R² (Koenker–Machado)",
                float(self.results_.prsquared),
                "share of the check loss explained; 0 = no better than a constant",
            ),
            (
                "in-sample share below fitted quantile",
                self.fitted_share_below_,
                f"≈ {tau:.2f} by construction",
            ),
        ]
        if len(cv):
            w = cv["held_out"] / cv["held_out"].sum()
            below = float((cv["share_below"] * w).sum())
            loss = float((cv["pinball_model"] * w).sum())
            null = float((cv["pinball_null"] * w).sum())
            rows += [
                (f"out-of-sample share below ({len(cv)}-fold)", below, f"target {tau:.2f}"),
                ("out-of-sample pinball loss (log USD)", loss, "lower is better"),
                ("unconditional-quantile pinball loss", null, "the no-model yardstick"),
                (
                    "out-of-sample skill vs unconditional",
                    1 - loss / null if null else math.nan,
                    "> 0: firmographics and drivers help",
                ),
                (
                    "out-of-sample rank correlation (Spearman)",
                    float(cv["spearman"].mean()),
                    "how well potential ranks actual spend",
                ),
            ]
        return pd.DataFrame(rows, columns=["metric", "value", "meaning"]).set_index("metric")


# ---------------------------------------------------------------------------------------------
# The pipeline


@dataclasses.dataclass(frozen=True, repr=False)
class PotentialResults(Results):
    """Potential, whitespace and penetration by account, unit, territory and region.

    Attributes
    ----------
    accounts : DataFrame
        Stage ``potential_accounts``: one row per account (USD per year).
    units : DataFrame
        Stage ``potential_units``: one row per geographic unit.
    territories, regions : DataFrame
        The same measures by territory (current owner's book) and region.
    model : AchievablePotentialModel
        The fitted quantile regression.
    settings : dict
        Quarter, quantile, index weights, competitor strength and baseline pressure.
    """

    accounts: pd.DataFrame
    units: pd.DataFrame
    territories: pd.DataFrame
    regions: pd.DataFrame
    model: AchievablePotentialModel
    settings: dict

    @property
    def penetration(self) -> float:
        """Company penetration: revenue ÷ achievable potential."""
        pot = self.accounts["potential_usd"].sum()
        return float(self.accounts["revenue_usd"].sum() / pot) if pot > 0 else math.nan

    def summary(self) -> Summary:
        """Company and region totals (USD per year), with the headline numbers as a note."""
        company = _aggregate(self.accounts.assign(scope="company"), "scope")
        table = pd.concat([company, self.regions]).rename_axis("scope")
        s, a = self.settings, self.accounts
        note = (
            f"{usd(a['potential_usd'].sum())} a year across {len(a):,} accounts; revenue "
            f"{usd(a['revenue_usd'].sum())} (penetration {self.penetration:.0%}); whitespace "
            f"{usd(a['whitespace_usd'].sum())}. Quantile {s['quantile']:.2f} of mature "
            f"customers' spend; competitor strength {s['competitor_strength']}."
        )
        return Summary(
            table,
            title=f"Achievable potential {s['quarter']}",
            notes=[note],
            float_format=lambda v: f"{v:,.2f}",
        )

    def to_frame(self) -> pd.DataFrame:
        """The account table (``potential_accounts``)."""
        return self.accounts.copy()

    def index_weights(self) -> pd.DataFrame:
        """The index method's drivers, how each enters (amount or rate × population) and its
        weight — calibrated on the data unless the notebook set ``index_weights``."""
        w = self.settings["index_weights"]
        form = [
            "rate per head × population"
            if k.endswith(PER_HEAD)
            else "headcount (pct × population)"
            if k.startswith(("pct_", "1-pct_"))
            else "amount"
            for k in w
        ]
        return pd.DataFrame(
            {"driver": list(w), "enters as": form, "weight": [float(v) for v in w.values()]}
        ).set_index("driver")

    def model_summary(self) -> EscapedText:
        """The quantile regression summary (statsmodels' text, escaped in HTML); the same fit as
        a table is ``model.summary()``."""
        return self.model.regression_summary()

    def diagnostics(self) -> pd.DataFrame:
        """Model diagnostics and out-of-sample error."""
        return self.model.diagnostics()


def _aggregate(accounts: pd.DataFrame, by: str) -> pd.DataFrame:
    g = accounts.groupby(by, sort=True)
    out = pd.DataFrame(
        {
            "potential_usd": g["potential_usd"].sum(),
            "revenue_usd": g["revenue_usd"].sum(),
            "whitespace_usd": g["whitespace_usd"].sum(),
            "accounts": g.size(),
            "customers": g["status"].apply(lambda s: int((s == "customer").sum())),
        }
    )
    out["prospects"] = out["accounts"] - out["customers"]
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    w = accounts["potential_usd"]
    pressure = (accounts["competitor_pressure"] * w).groupby(accounts[by]).sum()
    out["competitor_pressure"] = pressure / out["potential_usd"].where(out["potential_usd"] > 0)
    cols = [
        "potential_usd",
        "revenue_usd",
        "whitespace_usd",
        "penetration",
        "accounts",
        "customers",
        "prospects",
        "competitor_pressure",
    ]
    return out[cols]


def score_potential(
    accounts: pd.DataFrame,
    geo_units: pd.DataFrame,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    competitors: pd.DataFrame | None = None,
    quantile: float = 0.8,
    revenue_quarters: int = 4,
    mature_quarters: int = 4,
    index_weights: Mapping[str, float] | None = None,
    competitor_strength: float = 0.3,
    cv_folds: int = 5,
    seed: int = 0,
) -> PotentialResults:
    """Achievable potential, whitespace and penetration for every account and unit.

    Parameters
    ----------
    accounts : DataFrame
        ``account_id``, ``industry``, ``employees``, ``lat``, ``lon``, ``status``
        (customer/prospect), ``owner_rep_id`` (may be empty); ``unit_id`` optional.
    geo_units : DataFrame
        ``unit_id``, ``lat``, ``lon``, ``population`` and further numeric drivers.
    facts : DataFrame
        ``account_id``, ``quarter``, ``won_usd`` (USD), ``won_n``, ``lost_n``.
    quarter : Quarter or str
        Planning quarter: revenue is the won USD of the ``revenue_quarters`` ending with it.
    competitors : DataFrame, optional
        ``unit_id``, ``competitor``, ``presence`` (0–1); none means no adjustment.
    quantile : float
        Upper quantile of mature customers' spend taken as achievable.
    revenue_quarters : int
        Quarters of won revenue per year of spend (4).
    mature_quarters : int
        A customer is *mature* when its first win closed at least this many quarters before
        the revenue window starts (its window is a full year as an established customer).
    index_weights : mapping, optional
        Index method weights (:func:`potential_index`); empty or ``None``: calibrated on the
        data by :func:`default_index_weights` (the drivers ``geo_units`` has, weighted by how
        well they reproduce where revenue is won today).
    competitor_strength : float
        Share of potential lost where competitive pressure is total (0 disables).
    cv_folds, seed : int
        Out-of-sample check of the regression.

    Returns
    -------
    PotentialResults

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> units = pd.DataFrame({"unit_id": ["U1", "U2"], "lat": [33.0, 34.0],
    ...                       "lon": [-84.0, -84.0], "population": [1000.0, 4000.0]})
    >>> n = 60
    >>> acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "industry": "Retail",
    ...                     "employees": rng.integers(5, 500, n), "lat": 33.0, "lon": -84.0,
    ...                     "unit_id": "U1", "status": "customer", "owner_rep_id": "R1"})
    >>> facts = pd.DataFrame({"account_id": acc["account_id"], "quarter": "2026Q2",
    ...                       "won_usd": 100 * acc["employees"] * rng.lognormal(0, .3, n),
    ...                       "won_n": 1, "lost_n": 0})
    >>> first = facts.assign(quarter="2024Q1")  # first wins long before the window
    >>> res = score_potential(acc, units, pd.concat([first, facts]), quarter="2026Q3",
    ...                       index_weights={"population": 1})
    >>> bool((res.accounts["potential_usd"] >= res.accounts["revenue_usd"]).all())
    True
    >>> res.units["index_share"].round(2).tolist()
    [0.2, 0.8]
    """
    q = Quarter.parse(quarter)
    units = geo_units.reset_index(drop=True).copy()
    units["unit_id"] = units["unit_id"].astype(str)
    units["region"] = unit_regions(units).to_numpy()

    feats = account_features(accounts, units)
    acc = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str),
            "account_name": accounts.get("account_name"),
            "unit_id": feats["unit_id"],
            "owner_rep_id": accounts["owner_rep_id"],
            "status": accounts["status"].astype(str),
            "industry": feats["industry"],
            "employees": accounts["employees"],
        },
        index=accounts.index,
    )
    acc["territory"] = (
        acc["owner_rep_id"]
        .astype(object)
        .where(acc["owner_rep_id"].notna(), UNASSIGNED)
        .astype(str)
    )
    acc["region"] = acc["unit_id"].map(dict(zip(units["unit_id"], units["region"], strict=True)))

    hist = account_history(facts, quarter=q, quarters=revenue_quarters)
    acc = acc.join(hist[["revenue_usd", "prior_revenue_usd", "first_won_quarter"]], on="account_id")
    money = ["revenue_usd", "prior_revenue_usd"]
    acc[money] = acc[money].fillna(0.0)
    window_start = q - (revenue_quarters - 1)
    cutoff = str(window_start - mature_quarters)
    first = acc["first_won_quarter"]
    acc["mature"] = (
        (acc["status"] == "customer")
        & (acc["revenue_usd"] > 0)
        & first.notna()
        & (first.astype(str) <= cutoff)
    )

    model = AchievablePotentialModel(quantile, cv_folds=cv_folds, seed=seed)
    train = acc["mature"]
    model.fit(feats.loc[train], acc.loc[train, "revenue_usd"])
    acc["model_potential_usd"] = model.predict(feats)

    pressure = competitor_pressure(
        competitors
        if competitors is not None
        else pd.DataFrame(columns=["unit_id", "competitor", "presence"]),
        units["unit_id"].tolist(),
    ).set_index("unit_id")
    acc["competitor_pressure"] = acc["unit_id"].map(pressure["competitor_pressure"]).astype(float)
    baseline = float(acc.loc[train, "competitor_pressure"].mean()) if train.any() else 0.0
    acc["competitor_factor"] = competitor_factor(
        acc["competitor_pressure"], strength=competitor_strength, baseline=baseline
    )
    adjusted = acc["model_potential_usd"] * acc["competitor_factor"]
    acc["potential_usd"] = np.maximum(adjusted, acc["revenue_usd"])
    acc["whitespace_usd"] = acc["potential_usd"] - acc["revenue_usd"]
    acc["penetration"] = acc["revenue_usd"] / acc["potential_usd"]
    acc = acc.drop(columns=["first_won_quarter"])

    weights = dict(
        index_weights
        or default_index_weights(units, revenue=acc.groupby("unit_id")["revenue_usd"].sum())
    )
    unit_table = _unit_table(acc, units, pressure, weights)
    results = PotentialResults(
        accounts=acc.reset_index(drop=True),
        units=unit_table,
        territories=_aggregate(acc, "territory"),
        regions=_fill_empty(
            _aggregate(acc, "region").reindex(sorted(set(units["region"]))).rename_axis("region")
        ),
        model=model,
        settings={
            "quarter": str(q),
            "quantile": quantile,
            "revenue_quarters": revenue_quarters,
            "mature_quarters": mature_quarters,
            "index_weights": weights,
            "competitor_strength": competitor_strength,
            "baseline_pressure": baseline,
            "cv_folds": cv_folds,
            "seed": seed,
        },
    )
    return results


#: The additive columns of every roll-up (unit, territory, region): dollars and counts.
_SUMMED = ("potential_usd", "revenue_usd", "whitespace_usd", "accounts", "customers", "prospects")


def _fill_empty(table: pd.DataFrame) -> pd.DataFrame:
    """Scopes without accounts: zero dollars and counts, no penetration or pressure."""
    out = table.copy()
    for col in _SUMMED:
        out[col] = out[col].fillna(0)
    for col in ("accounts", "customers", "prospects"):
        out[col] = out[col].astype(int)
    return out


def _unit_table(
    acc: pd.DataFrame, units: pd.DataFrame, pressure: pd.DataFrame, weights: Mapping[str, float]
) -> pd.DataFrame:
    idx = potential_index(units, weights=weights)
    out = units[["unit_id"]].copy()
    for col in ("unit_name", "region", "lat", "lon", "population"):
        if col in units.columns:
            out[col] = units[col].to_numpy()
    # the owner of most of the unit's accounts; ties go to the lowest territory id
    owners = (
        acc[acc["territory"] != UNASSIGNED]
        .groupby("unit_id")["territory"]
        .agg(
            lambda s: (
                s.value_counts().sort_index().sort_values(ascending=False, kind="stable").index[0]
            )
        )
    )
    out["territory"] = out["unit_id"].map(owners).astype(object)
    agg = _aggregate(acc, "unit_id")
    for col in _SUMMED:
        out[col] = out["unit_id"].map(agg[col]).fillna(0)
    for col in ("accounts", "customers", "prospects"):
        out[col] = out[col].astype(int)
    out["penetration"] = out["revenue_usd"] / out["potential_usd"].where(out["potential_usd"] > 0)
    out["index_share"] = idx["index_share"].to_numpy()
    if "index_per_capita" in idx:
        out["index_per_capita"] = idx["index_per_capita"].to_numpy()
    total = float(acc["potential_usd"].sum())
    out["index_potential_usd"] = out["index_share"] * total
    out["coverage_ratio"] = out["potential_usd"] / out["index_potential_usd"].where(
        out["index_potential_usd"] > 0
    )
    out["uncovered_potential_usd"] = (out["index_potential_usd"] - out["potential_usd"]).clip(
        lower=0
    )
    p = pressure.reindex(out["unit_id"])
    out["competitor_pressure"] = p["competitor_pressure"].to_numpy()
    out["top_competitor"] = p["top_competitor"].to_numpy()
    return out.reset_index(drop=True)
