"""Territory design: balanced, contiguous, compact territories with a certified optimality gap.

The engine (problem, solver, bound, designer, plan, disruption frontier, sizing, quotas,
matching, alignment) and notebook 03's steps on top of it: building blocks (:mod:`.blocks`),
the team that sets k (:mod:`.team`), the notebook's parameters, inputs, steps and outputs
(:mod:`.workflow`) and its charts (:mod:`.plots`).

>>> from workbench.territory import TerritoryDesigner, build_territories, TerritoryPlan
>>> from workbench.territory import DesignParams, building_blocks, load_inputs, save_outputs
"""

from .blocks import BLOCKS, MEASURES, block_adjacency, building_blocks
from .designer import TerritoryDesigner, build_territories
from .diagnose import diagnose, precheck
from .disruption import disruption_frontier
from .named import NamedRule, NamedTeam
from .overlay import Credits, OverlayTeam, credit, overlay_quotas
from .plan import TerritoryPlan
from .plots import (
    plot_alignment_maps,
    plot_balance,
    plot_frontier,
    plot_quota_odds,
    plot_structure_maps,
)
from .problem import TerritoryProblem, Violation, build_problem
from .quota import QuotaOdds, QuotaPlan, quota_odds
from .roles import RoleSizing
from .sizing import Sizing
from .team import (
    DesignSettings,
    active_reps,
    default_k,
    design_settings,
    rep_centers,
    resolve_k,
)
from .workflow import (
    HEADCOUNT_MATERIAL,
    DesignInputs,
    DesignParams,
    HeadcountCheck,
    design_plans,
    district_table,
    frontier,
    geographic_team,
    headcount_check,
    load_inputs,
    match_plan_reps,
    named_accounts,
    overlay_teams,
    plan_alignment,
    plan_credits,
    plan_summary,
    propose_plan,
    quota_plan,
    region_table,
    rep_performance,
    role_table,
    save_outputs,
    sizing_tables,
    violations_table,
)

__all__ = [
    "BLOCKS",
    "HEADCOUNT_MATERIAL",
    "MEASURES",
    "Credits",
    "DesignInputs",
    "DesignParams",
    "DesignSettings",
    "HeadcountCheck",
    "NamedRule",
    "NamedTeam",
    "OverlayTeam",
    "QuotaOdds",
    "QuotaPlan",
    "RoleSizing",
    "Sizing",
    "TerritoryDesigner",
    "TerritoryPlan",
    "TerritoryProblem",
    "Violation",
    "active_reps",
    "block_adjacency",
    "build_problem",
    "build_territories",
    "building_blocks",
    "credit",
    "default_k",
    "design_plans",
    "design_settings",
    "diagnose",
    "disruption_frontier",
    "district_table",
    "frontier",
    "geographic_team",
    "headcount_check",
    "load_inputs",
    "match_plan_reps",
    "named_accounts",
    "overlay_quotas",
    "overlay_teams",
    "plan_alignment",
    "plan_credits",
    "plan_summary",
    "plot_alignment_maps",
    "plot_balance",
    "plot_frontier",
    "plot_quota_odds",
    "plot_structure_maps",
    "precheck",
    "propose_plan",
    "quota_odds",
    "quota_plan",
    "region_table",
    "rep_centers",
    "rep_performance",
    "resolve_k",
    "role_table",
    "save_outputs",
    "sizing_tables",
    "violations_table",
]
