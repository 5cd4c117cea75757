"""KPI review (notebook 04): who hit their number, why, and is the plan itself fair?

Every KPI is defined once, in :mod:`workbench.kpi.tables`, and documented with its formula in
``docs/kpis.md``. One module per step of the notebook:

* ``tables`` — the KPI columns, the groupings (territory, rep, region, company), the additive
  sums and the ratios derived from them (:func:`kpi_table`);
* ``findings`` — quota fairness (:func:`quota_fairness`), the flags
  (:func:`flag_kpis`) and the balance of the current alignment (:func:`balance_review`);
* ``review`` — the results object :class:`KpiReview` and its entry point :func:`review_kpis`;
* ``workflow`` — :class:`KpiParams`, :class:`KpiInputs`, :func:`load_inputs`,
  :func:`save_outputs`;
* ``plots`` — the charts.

>>> from workbench.kpi import KpiInputs, kpi_table, review_kpis, KpiReview
"""

from .findings import (
    FAIRNESS_RHO,
    Finding,
    balance_review,
    flag_kpis,
    quota_fairness,
)
from .plots import plot_attainment, plot_balance, plot_fairness, plot_kpi_map, plot_trend
from .review import KpiReview, review_kpis
from .tables import (
    ACTIVE_QUARTERS,
    COMPANY,
    LEVEL_IDS,
    METRICS,
    OUTSIDE_METRO,
    history_start,
    kpi_table,
    rep_regions,
    territory_of,
)
from .workflow import KpiInputs, KpiParams, Thresholds, load_inputs, save_outputs

__all__ = [
    "ACTIVE_QUARTERS",
    "COMPANY",
    "FAIRNESS_RHO",
    "LEVEL_IDS",
    "METRICS",
    "OUTSIDE_METRO",
    "Finding",
    "KpiInputs",
    "KpiParams",
    "KpiReview",
    "Thresholds",
    "balance_review",
    "flag_kpis",
    "history_start",
    "kpi_table",
    "load_inputs",
    "plot_attainment",
    "plot_balance",
    "plot_fairness",
    "plot_kpi_map",
    "plot_trend",
    "quota_fairness",
    "rep_regions",
    "review_kpis",
    "save_outputs",
    "territory_of",
]
