"""Findings of notebook 04: quota fairness (:func:`quota_fairness`, :func:`gini`), the flags
(:func:`flag_kpis`) and the balance of the current alignment (:func:`balance_review`), each a
:class:`Finding` or a table."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from ..concentration import gini
from ..config import UNASSIGNED
from ..results import Results, Summary
from .tables import _div
from .workflow import Thresholds

FAIRNESS_RHO = 0.5  # |Spearman rho| from which attainment "tracks" a territory factor


# ---------------------------------------------------------------------------------------------
# Quota fairness, flags and balance


@dataclasses.dataclass(frozen=True, repr=False)
class Finding(Results):
    """A plain-language verdict with the table behind it (renders as both in a notebook).

    Examples
    --------
    >>> f = Finding("All fine.", pd.DataFrame({"x": [1, 2]}, index=["A", "B"]))
    >>> print(f)
    All fine.
       x
    A  1
    B  2
    """

    verdict: str
    table: pd.DataFrame

    def summary(self) -> Summary:
        """The table behind the finding, with the verdict as its note."""
        return Summary(self.table.copy(), notes=[self.verdict])


_FAIRNESS_FACTORS = {
    "potential_usd": ("structure", "territory potential"),
    "accounts_n": ("structure", "territory size (accounts)"),
    "growth_yoy": ("market", "territory growth (revenue YoY)"),
    "win_rate_value": ("performance", "win rate (value)"),
}


def quota_fairness(territories: pd.DataFrame, *, min_rho: float = FAIRNESS_RHO) -> Finding:
    """Does attainment follow the territory (size, potential) rather than the rep's performance?

    Spearman rank correlation of ``attainment`` with each factor over the territories that have
    a quota, and the Gini coefficient of attainment. The verdict says the territories decide who
    wins when attainment correlates with potential or size at ``|rho| >= min_rho`` and more
    strongly than with win rate (the performance signal).

    Parameters
    ----------
    territories : pandas.DataFrame
        One quarter of :func:`kpi_table` at territory level (``territory``, ``attainment``,
        ``potential_usd``, ``accounts_n``, ``growth_yoy``, ``win_rate_value``).

    Examples
    --------
    >>> t = pd.DataFrame({"territory": list("ABCDE"),
    ...     "attainment": [0.6, 0.8, 1.0, 1.2, 1.4], "potential_usd": [1, 2, 3, 4, 5],
    ...     "accounts_n": [5, 1, 4, 2, 3], "growth_yoy": [0.1] * 5,
    ...     "win_rate_value": [0.5, 0.3, 0.4, 0.6, 0.2]})
    >>> quota_fairness(t).verdict.split(":")[0]
    'Attainment tracks territory potential (Spearman ρ = +1.00, n = 5) more than performance (win rate ρ = -0.30)'
    """  # noqa: E501 - doctest output / CSV text cannot wrap
    t = territories[territories["attainment"].notna()]
    rows = []
    for col, (role, label) in _FAIRNESS_FACTORS.items():
        pair = t[["attainment", col]].astype(float).dropna()
        rho = p = np.nan
        if len(pair) >= 3 and pair[col].nunique() > 1 and pair["attainment"].nunique() > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rho, p = stats.spearmanr(pair["attainment"], pair[col])
        rows.append(
            {
                "factor": col,
                "role": role,
                "meaning": label,
                "n": len(pair),
                "spearman_rho": float(rho),
                "p_value": float(p),
            }
        )
    table = pd.DataFrame(rows).set_index("factor")
    g = gini(t["attainment"])
    spread = (
        (
            f"Gini of attainment {g:.2f} (0 = everyone equal; from {t['attainment'].min():.0%}"
            f" to {t['attainment'].max():.0%} over {len(t)} territories)."
        )
        if len(t)
        else ""
    )
    structure = table[(table["role"] == "structure") & table["spearman_rho"].notna()]
    perf = table.loc["win_rate_value", "spearman_rho"]
    if len(t) < 4:
        verdict = f"Too few territories with a quota ({len(t)}) to judge fairness."
    elif structure.empty:
        verdict = "No territory size or potential varies across territories: fairness untested."
    else:
        top = structure["spearman_rho"].abs().idxmax()
        rho = structure.loc[top, "spearman_rho"]
        perf_text = "n/a" if np.isnan(perf) else f"{perf:+.2f}"
        if abs(rho) >= min_rho and (np.isnan(perf) or abs(rho) > abs(perf)):
            who = "larger" if rho > 0 else "smaller"
            verdict = (
                f"Attainment tracks {structure.loc[top, 'meaning']} (Spearman ρ = {rho:+.2f},"
                f" n = {len(t)}) more than performance (win rate ρ = {perf_text}): the "
                f"territories, not the reps, decide who wins — {who} territories beat "
                "their quota. Rebalance (notebook 03) or set quotas in proportion to "
                "potential."
            )
        elif abs(rho) < min_rho:
            verdict = (
                f"Attainment does not track territory size or potential (largest |ρ| = "
                f"{abs(rho):.2f} < {min_rho:.2f}; win rate ρ = {perf_text}): differences "
                "in attainment look like performance, not territory."
            )
        else:  # a structural factor reaches min_rho, but win rate correlates at least as much
            verdict = (
                f"Attainment tracks {structure.loc[top, 'meaning']} (Spearman ρ = {rho:+.2f},"
                f" n = {len(t)}) but performance at least as strongly (win rate ρ = "
                f"{perf_text}): differences in attainment look like performance at least as "
                "much as territory."
            )
    if len(t) >= 4 and table.loc["potential_usd", "n"] == 0:
        verdict += " Potential is not available, so only size was tested."
    return Finding(f"{verdict} {spread}".strip(), table)


_CHECKS = (  # column, threshold field, format, plain words
    ("attainment", "min_attainment", "{:.0%}", "missed quota"),
    ("coverage", "min_coverage", "{:.2f}x", "thin pipeline going in"),
    ("logo_retention", "min_logo_retention", "{:.0%}", "losing customers"),
    ("win_rate", "min_win_rate", "{:.0%}", "losing deals"),
)


def flag_kpis(
    territories: pd.DataFrame,
    reps: pd.DataFrame,
    *,
    thresholds: Thresholds = Thresholds(),  # noqa: B008 - a frozen dataclass, safe as a default
) -> pd.DataFrame:
    """Territories and reps below a threshold, with the reasons and the metrics behind them.

    A check fails when the metric is known and below its threshold (an empty metric — no quota,
    no closed deal — is not judged; unassigned accounts have no one to act and are skipped). A
    rep who fails exactly the checks their territory fails shares its row (level ``territory &
    rep``, the territory's numbers). Rows are ranked by the number of failed checks, then by the
    total relative shortfall ``sum((threshold - value) / threshold)``.

    Parameters
    ----------
    territories, reps : pandas.DataFrame
        One quarter of :func:`kpi_table` at territory and rep level.
    thresholds : Thresholds

    Returns
    -------
    pandas.DataFrame
        ``rank, level, id, rep_name, region, failed_n, shortfall, reasons`` and the explaining
        metrics (attainment, coverage, logo_retention, win_rate, revenue_usd, quota_usd,
        pipeline_start_usd, avg_deal_usd, penetration).

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["R1"], "rep_name": ["Ada"], "region": ["metro"],
    ...     "attainment": [0.6], "coverage": [2.0], "logo_retention": [0.9], "win_rate": [0.5],
    ...     "revenue_usd": [600.0], "quota_usd": [1000.0], "pipeline_start_usd": [2000.0],
    ...     "avg_deal_usd": [300.0], "penetration": [0.1]})
    >>> flag_kpis(t, t.iloc[:0].rename(columns={"territory": "rep_id"}))["reasons"].tolist()
    ['attainment 60% < 80% (missed quota)']
    """
    explain = [
        "attainment",
        "coverage",
        "logo_retention",
        "win_rate",
        "revenue_usd",
        "quota_usd",
        "pipeline_start_usd",
        "avg_deal_usd",
        "penetration",
    ]
    seen: dict[tuple, dict[str, object]]
    rows, seen = [], {}
    for level, frame, idcol in (("territory", territories, "territory"), ("rep", reps, "rep_id")):
        for rec in frame.to_dict("records"):
            failed = [
                (col, rec[col], getattr(thresholds, field), fmt, words)
                for col, field, fmt, words in _CHECKS
                if pd.notna(rec.get(col)) and rec[col] < getattr(thresholds, field)
            ]
            if not failed or rec[idcol] == UNASSIGNED:  # no one to act on unassigned accounts
                continue
            key = (rec[idcol], tuple(c for c, *_ in failed))
            if key in seen:  # the rep failed exactly what their territory failed: one row
                seen[key]["level"] = "territory & rep"
                continue
            rows.append(
                seen.setdefault(
                    key,
                    {
                        "level": level,
                        "id": rec[idcol],
                        "rep_name": rec.get("rep_name"),
                        "region": rec.get("region"),
                        "failed_n": len(failed),
                        "shortfall": sum((lim - v) / lim for _, v, lim, _, _ in failed if lim > 0),
                        "reasons": "; ".join(
                            f"{c} {fmt.format(v)} < {fmt.format(lim)} ({w})"
                            for c, v, lim, fmt, w in failed
                        ),
                        **{c: rec.get(c) for c in explain},
                    },
                )
            )
    cols = ["level", "id", "rep_name", "region", "failed_n", "shortfall", "reasons", *explain]
    out = pd.DataFrame(rows, columns=cols)
    out = out.sort_values(
        ["failed_n", "shortfall", "id", "level"], ascending=[False, False, True, False]
    ).reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.astype(dict.fromkeys(explain, "float64"))


_BALANCE = {
    "accounts_n": "accounts",
    "potential_usd": "potential",
    "worked_opportunities_n": "workload (deals worked)",
}


def balance_review(territories: pd.DataFrame, *, tolerance: float = 0.25) -> Finding:
    """Accounts, potential and workload per territory against the mean (``x / mean - 1``).

    Unassigned accounts are left out; a measure with no data (potential before notebook 01 ran)
    is skipped. The verdict says whether any territory lies outside ``±tolerance`` — the case for
    a redesign in notebook 03.

    Examples
    --------
    >>> t = pd.DataFrame({"territory": ["R1", "R2"], "rep_name": ["A", "B"], "region": "x",
    ...     "accounts_n": [2, 3], "potential_usd": [30.0, 20.0], "worked_opportunities_n": [4, 4]})
    >>> balance_review(t, tolerance=0.25).table["accounts_n_dev"].round(2).tolist()
    [-0.2, 0.2]
    """
    t = territories[territories["territory"] != UNASSIGNED].set_index("territory")
    table = t[["rep_name", "region"]].copy()
    devs = []
    for col in _BALANCE:
        x = t[col].astype("float64")
        if x.notna().any():
            table[col] = x
            table[f"{col}_dev"] = _div(x, pd.Series(x.mean(), index=x.index)) - 1
            devs.append(f"{col}_dev")
    table["max_abs_dev"] = table[devs].abs().max(axis=1)
    table["balanced"] = table["max_abs_dev"] <= tolerance
    out = table[~table["balanced"]]
    if table.empty:
        verdict = "No territory to review."
    elif out.empty:
        verdict = (
            f"All {len(table)} territories lie within ±{tolerance:.0%} of the mean on "
            f"{', '.join(_BALANCE[d[:-4]] for d in devs)}: no redesign needed for balance."
        )
    else:
        worst = table["max_abs_dev"].idxmax()
        col = table.loc[worst, devs].abs().astype(float).idxmax()
        verdict = (
            f"{len(out)} of {len(table)} territories lie outside ±{tolerance:.0%} of the "
            f"mean (largest: {worst} {_BALANCE[col[:-4]]} "
            f"{table.loc[worst, col]:+.0%}): the alignment is unbalanced, so a redesign "
            "(notebook 03) is warranted."
        )
    return Finding(verdict, table)
