"""Customer segmentation, Pareto/ABC classes and predictive lead scoring (notebook 02).

Territory balance and workload depend on knowing which customers matter and which prospects
are worth a call. This package answers four questions, in the order of the notebook:

1. **Pareto / ABC** (:mod:`.abc`, :func:`pareto_analysis`): how concentrated is revenue (Lorenz
   curve, share of the top 20 % of customers, Gini coefficient), and which customers are class
   A, B or C, optionally valuing each customer by a blend of revenue and potential (notebook 01).
2. **Segments** (:mod:`.clusters`: :func:`customer_features`, :class:`AccountSegmenter`,
   :func:`segment_customers`): clusters of customers by firmographics and buying behaviour
   (recency, frequency and value of wins, growth, product breadth), each with a profile and a
   readable name.
3. **Lead scores** (:mod:`.leads`: :func:`lead_features`, :func:`time_split`;
   :mod:`.lead_models`: :func:`compare_lead_models`; :mod:`.prospects`:
   :func:`score_prospects`): the win probability of open opportunities and prospects, learnt
   from closed opportunities with features known at each opportunity's created date, tested on
   the latest quarter(s) against a naive baseline; plus the ideal customer profile
   (:func:`ideal_customer_profile`) and lookalike prospects (:func:`lookalike_prospects`).
4. **Workload** (:mod:`.workload`, :func:`workload_plan`): recommended calls and hours per
   account per year, the input notebook 03 balances territories on.

:mod:`.workflow` holds the notebook's parameters, inputs and outputs; :mod:`.plots` its charts.
Methods, defaults and their reasons: ``docs/segments.md``.

>>> from workbench.segments import load_inputs, pareto_analysis, segment_customers
"""

from .abc import ParetoResult, abc_classes, lorenz_curve, pareto_analysis
from .clusters import (
    SEGMENT_LOG,
    SEGMENT_NUMERIC,
    AccountSegmenter,
    SegmentationResult,
    customer_features,
    name_segment,
    segment_customers,
)
from .lead_models import (
    LeadModelComparison,
    LeadScorer,
    WinRateBaseline,
    compare_lead_models,
    ideal_customer_profile,
    lift_table,
    reliability_table,
)
from .leads import (
    LEAD_FEATURE_LABELS,
    NEW_BUSINESS,
    REP_PRIOR_DEALS,
    LeadData,
    LeakageError,
    TimeSplit,
    lead_features,
    size_band,
    time_split,
)
from .plots import (
    plot_lift,
    plot_lorenz,
    plot_reliability,
    plot_segment_map,
    plot_segment_profiles,
)
from .prospects import LeadScores, lookalike_prospects, score_prospects
from .workflow import SegmentationInputs, SegmentationParams, load_inputs, save_outputs
from .workload import (
    DEFAULT_CALLS_PER_YEAR,
    DEFAULT_HOURS_PER_CALL,
    workload_by_territory,
    workload_plan,
)

__all__ = [
    "DEFAULT_CALLS_PER_YEAR",
    "DEFAULT_HOURS_PER_CALL",
    "LEAD_FEATURE_LABELS",
    "NEW_BUSINESS",
    "REP_PRIOR_DEALS",
    "SEGMENT_LOG",
    "SEGMENT_NUMERIC",
    "AccountSegmenter",
    "LeadData",
    "LeadModelComparison",
    "LeadScorer",
    "LeadScores",
    "LeakageError",
    "ParetoResult",
    "SegmentationInputs",
    "SegmentationParams",
    "SegmentationResult",
    "TimeSplit",
    "WinRateBaseline",
    "abc_classes",
    "compare_lead_models",
    "customer_features",
    "ideal_customer_profile",
    "lead_features",
    "lift_table",
    "load_inputs",
    "lookalike_prospects",
    "lorenz_curve",
    "name_segment",
    "pareto_analysis",
    "plot_lift",
    "plot_lorenz",
    "plot_reliability",
    "plot_segment_map",
    "plot_segment_profiles",
    "reliability_table",
    "save_outputs",
    "score_prospects",
    "segment_customers",
    "size_band",
    "time_split",
    "workload_by_territory",
    "workload_plan",
]
