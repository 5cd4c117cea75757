"""Market potential (notebook 01): potential index, achievable potential, whitespace, SWOT inputs.

Two estimates of where the money is, both in US dollars **per year** (formulas and reasons in
``docs/potential.md``):

*Index method* (top-down, buying-power-index tradition)
    Each geographic unit's share of every market driver, combined with weights:
    ``index_u = Σ_d w_d · x_{u,d} / Σ_v x_{v,d}`` (weights normalised to sum to 1). Percentage
    drivers become headcounts first (``pct_bach`` → people with a degree); ``1-pct_rural`` is
    the headcount *without* the attribute (urban population). The index spreads the total
    achievable potential over units in proportion to the market, whether or not the CRM
    knows accounts there.

*Regression method* (bottom-up, per account)
    A quantile regression (statsmodels ``QuantReg``) of what **mature customers** spent in the
    last four quarters on their firmographics (industry, log employees) and their unit's
    drivers, at an upper quantile τ (default 0.8) of log spend. ``exp(x'β)`` is then the
    τ-quantile of spend for accounts like this one: what our best similar customers already
    spend, not the average. Every account, prospect or customer, gets that prediction.

Competitor adjustment
    Unit pressure ``p_u = 1 − Π_k (1 − presence_{u,k})`` (chance at least one competitor is
    entrenched). The model learned spend under the pressure its customers face (mean ``p̄``),
    so potential is scaled by ``(1 − s·p_u) / (1 − s·p̄)`` with strength ``s`` (default 0.3):
    below 1 where competition is heavier than usual, above 1 where it is lighter.

Achievable potential is never below what the account already spends:
``potential = max(model × adjustment, revenue)``; ``whitespace = potential − revenue`` and
``penetration = revenue / potential``, by account, unit, territory (current owner's book)
and region (latitude band of the unit, see :func:`unit_regions`).

Modules, in the notebook's order: :mod:`.workflow` (``PotentialParams``, ``load_inputs``,
``save_outputs``), :mod:`.index` (regions, index method, competitor pressure),
:mod:`.achievable` (account history and features, the quantile regression,
``score_potential``), :mod:`.swot` (SWOT inputs) and :mod:`.plots` (charts).

>>> from workbench.potential import PotentialParams, score_potential, swot_inputs
"""

from .achievable import (
    AchievablePotentialModel,
    EscapedText,
    PotentialResults,
    account_features,
    account_history,
    score_potential,
)
from .index import (
    AMOUNT_CORRELATION,
    PER_HEAD,
    REGIONS,
    competitor_factor,
    competitor_pressure,
    default_index_weights,
    driver_amounts,
    index_drivers,
    potential_index,
    unit_regions,
)
from .plots import plot_potential_fit, plot_potential_map, plot_whitespace
from .swot import SWOT_KINDS, SwotResults, SwotThresholds, scope_metrics, swot_inputs
from .workflow import PotentialInputs, PotentialParams, load_inputs, save_outputs

__all__ = [
    "AMOUNT_CORRELATION",
    "PER_HEAD",
    "REGIONS",
    "SWOT_KINDS",
    "AchievablePotentialModel",
    "EscapedText",
    "PotentialInputs",
    "PotentialParams",
    "PotentialResults",
    "SwotResults",
    "SwotThresholds",
    "account_features",
    "account_history",
    "competitor_factor",
    "competitor_pressure",
    "default_index_weights",
    "driver_amounts",
    "index_drivers",
    "load_inputs",
    "plot_potential_fit",
    "plot_potential_map",
    "plot_whitespace",
    "potential_index",
    "save_outputs",
    "scope_metrics",
    "score_potential",
    "swot_inputs",
    "unit_regions",
]
