"""Work budgets: what stops a search, so that the same inputs give the same plan anywhere.

Every loop of the territory engine ends on a count - starts, tabu iterations, LNS attempts,
simplex iterations, branch-and-bound nodes - never on the clock. The counts scale with
``effort`` (1 = the default search; the feasibility rounds double it). Wall-clock time is only
a *safety stop*: when it is reached the search ends at its next check, and the plan reports
``safety_stop`` (its result may then depend on the machine's speed, and says so).
"""

from __future__ import annotations

import os
import time

__all__ = ["Budget", "search_threads", "unlimited_if_none"]


def search_threads() -> int:
    """Threads the search may use: ``WORKBENCH_THREADS`` if set, else the CPU count. Only
    speed depends on it, never the plan."""
    env = os.environ.get("WORKBENCH_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            raise ValueError(f"WORKBENCH_THREADS: expected a whole number, got {env!r}") from None
        if value < 1:
            raise ValueError(f"WORKBENCH_THREADS: expected at least 1, got {value}")
        return value
    return os.cpu_count() or 1


class Budget:
    """Effort of one search and its safety stop.

    Parameters
    ----------
    effort : float
        Multiplies every work count (1 = default).
    safety_seconds : float
        Wall-clock seconds after which the search stops at its next check (None: never).
    """

    def __init__(self, effort: float = 1.0, safety_seconds: float | None = 60.0):
        if not effort > 0:
            raise ValueError(f"effort must be > 0, got {effort}")
        self.effort = float(effort)
        self.safety_seconds = safety_seconds
        self.t0 = time.perf_counter()
        self.safety_stop = False

    def sharing_clock(self, effort: float | None = None) -> Budget:
        """A budget of its own (``effort``, default this one's) on this budget's safety clock,
        for work done beside it or after it (another thread, another round)."""
        other = Budget(self.effort if effort is None else effort, self.safety_seconds)
        other.t0 = self.t0
        return other

    def scaled(self, count: float, *, at_least: int = 1) -> int:
        """``count`` work units at this effort (an int, at least ``at_least``)."""
        return max(round(count * self.effort), at_least)

    def expired(self) -> bool:
        """True once the safety stop is reached (and from then on)."""
        if (
            not self.safety_stop
            and self.safety_seconds is not None
            and time.perf_counter() - self.t0 > self.safety_seconds
        ):
            self.safety_stop = True
        return self.safety_stop

    def seconds_left(self) -> float:
        """Safety time left, for HiGHS's own time limit (a large value when there is none)."""
        if self.safety_seconds is None:
            return 1.0e7
        return max(self.safety_seconds - (time.perf_counter() - self.t0), 0.01)

    def highs(self, **options) -> dict:
        """HiGHS options: the given work limits plus the safety time."""
        return {"time_limit": self.seconds_left(), **options}


def unlimited_if_none(budget: Budget | None) -> Budget:
    """``budget``, or a default budget without a safety stop (for direct calls of one step)."""
    return budget if budget is not None else Budget(safety_seconds=None)
