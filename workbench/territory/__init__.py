"""Territory design: balanced, contiguous, compact territories with a certified optimality gap.

>>> from workbench.territory import TerritoryDesigner, build_territories, TerritoryPlan
"""

from .designer import TerritoryDesigner, build_territories
from .frontier import disruption_frontier
from .plan import TerritoryPlan
from .problem import TerritoryProblem, Violation, build_problem, precheck

__all__ = [
    "TerritoryDesigner",
    "TerritoryPlan",
    "TerritoryProblem",
    "Violation",
    "build_problem",
    "build_territories",
    "disruption_frontier",
    "precheck",
]
