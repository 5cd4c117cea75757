"""The explorer's state: :class:`ScenarioExplorer` holds the data, the settings, the locks and
the plan on screen, re-plans (a fast preview, then a refinement with the lower bound), and saves,
loads and compares scenarios; no widgets."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..config import ParameterError, Quarter, project_root
from ..io import stage_folder
from ..territory import TerritoryPlan
from ..territory.adopt import params_file, set_report_scenario, with_bound
from .files import (
    compare_scenarios,
    list_scenarios,
    load_scenario,
    save_scenario,
    scenario_path,
    scenario_record,
)
from .panels import assign_colours
from .scenario import (
    ExplorerData,
    Scenario,
    design_scenario,
    evaluate_assignment,
    load_explorer_data,
    plan_quality,
    scenario_metrics,
    scenario_quotas,
    toggle_lock,
)

UNDO_DEPTH = 50
"""Plans kept for :meth:`ScenarioExplorer.undo`."""


class SearchCancelled(Exception):
    """Raised inside a background refinement when a newer solve has superseded it."""


# ---------------------------------------------------------------------------------------------
# State


class ScenarioExplorer:
    """The explorer's state: data, settings, locks and the plan on screen (no widgets).

    Parameters
    ----------
    data : ExplorerData
    scenario : Scenario, optional
        Starting settings (default: k = active reps, potential and workload within ±5 %, 30 %
        of blocks may move).
    scenarios_dir : str or Path, optional
        Folder of saved scenarios (``<processed>/scenarios``); ``None`` disables saving.
    live_seconds : float
        Safety stop of :meth:`solve` (the preview shown at once; a small work budget).
    refine_seconds : float
        Safety stop of :meth:`refine` (full multi-start search with the lower bound).
    refine_effort : float
        Work budget of :meth:`refine` (1 = the designer's default).
    plan : TerritoryPlan, optional
        A plan to show first (e.g. notebook 03's proposal); default: today's alignment.
    report_params : str or Path, optional
        The quarter's report parameters file (``reports/params/<quarter>.yaml``) that
        :meth:`adopt` writes; ``None`` disables adoption.
    districts : int
        Districts the map's level toggle starts with (notebook 03's ``districts``; 0: about one
        per four territories).

    Attributes
    ----------
    scenario : Scenario
        The settings as the controls hold them (locks included).
    plan : TerritoryPlan
        The plan on screen; ``plan_scenario`` the settings that produced it and ``plan_kind``
        ``"today"``, ``"given"``, ``"preview"``, ``"refined"`` or ``"loaded"``.
    quotas : DataFrame or None
        Quotas of the plan on screen (:func:`scenario_quotas`).
    generation : int
        Increases with every solve or load; a refinement of an older generation is dropped.

    Examples
    --------
    >>> ex = ScenarioExplorer(data)  # doctest: +SKIP
    >>> ex.update(k=10, tolerance=0.08)  # doctest: +SKIP
    >>> ex.toggle_lock("30303"); plan = ex.solve()  # doctest: +SKIP
    >>> ex.save("ten-territories"); ex.compare(["ten-territories"])  # doctest: +SKIP
    """

    # set by _install
    plan: TerritoryPlan
    plan_kind: str
    plan_scenario: Scenario

    def __init__(
        self,
        data: ExplorerData,
        scenario: Scenario | None = None,
        *,
        scenarios_dir: str | Path | None = None,
        live_seconds: float = 0.5,
        refine_seconds: float = 60.0,
        refine_effort: float = 1.0,
        plan: TerritoryPlan | None = None,
        report_params: str | Path | None = None,
        districts: int = 0,
    ):
        self.data = data
        self.districts = int(districts)
        self.report_params = None if report_params is None else Path(report_params)
        self.scenario = scenario or Scenario(k=data.resolve_k(0))
        problems = self.scenario.problems(n_blocks=len(data.blocks))
        if problems:
            raise ParameterError("; ".join(problems))
        self.scenarios_dir = None if scenarios_dir is None else Path(scenarios_dir)
        self.live_seconds = float(live_seconds)
        self.refine_seconds = float(refine_seconds)
        self.refine_effort = float(refine_effort)
        self.generation = 0
        self._lock = threading.RLock()
        self._district_cache: tuple | None = None  # (plan, n, block -> district)
        self._undo: list[tuple] = []  # plans on screen before the last changes (newest last)
        self._redo: list[tuple] = []
        cur = data.current
        self.colours = assign_colours([] if cur is None else cur["territory"].astype(str))
        self._today: dict[tuple, TerritoryPlan] = {}
        self._forecasts: dict = {}  # the forecast engine's cache: unchanged territories reuse
        if plan is None:
            plan, kind = self.today(), "today"
        else:
            kind = "given"
        self._install(plan, kind, self.scenario)

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_processed(
        cls,
        processed: str | Path,
        *,
        quarter: str | Quarter = "",
        block: str = "postal_code",
        scenario: Scenario | None = None,
        named: Mapping | None = None,
        inside_sales: float = 0.0,
        **options,
    ) -> ScenarioExplorer:
        """Load the data from ``processed`` (scenarios saved in ``processed/scenarios``; the
        named-account settings and ``inside_sales`` as notebook 03's, see
        :func:`load_explorer_data`)."""
        data = load_explorer_data(
            processed, quarter=quarter, block=block, named=named, inside_sales=inside_sales
        )
        options.setdefault("scenarios_dir", stage_folder(processed, "scenarios"))
        options.setdefault("report_params", params_file(project_root(), data.quarter))
        return cls(data, scenario, **options)

    @classmethod
    def from_design(
        cls,
        params,
        inputs,
        blocks: pd.DataFrame,
        adjacency: pd.DataFrame,
        *,
        plan: TerritoryPlan | None = None,
        **options,
    ) -> ScenarioExplorer:
        """From notebook 03's ``params`` (:class:`~workbench.territory.workflow.DesignParams`),
        ``inputs``, ``blocks`` and ``adjacency``, starting from its proposed ``plan``."""
        data = ExplorerData(
            blocks=blocks,
            adjacency=adjacency,
            accounts=inputs.accounts,
            reps=inputs.reps,
            facts=inputs.facts,
            quarter=params.period,
            block=params.building_block,
            polygons=inputs.polygons,
        )
        k = data.resolve_k(params.k)
        scenario = Scenario(
            k=k,
            balance=tuple(params.balance),
            tolerance=params.tolerance,
            max_moved=params.max_moved,
            rep_home_centers=params.rep_home_centers,
            history_weight=params.history_weight,
            target_growth=params.target_growth,
            seed=params.seed,
        )
        options.setdefault("scenarios_dir", stage_folder(params.processed, "scenarios"))
        options.setdefault("report_params", params_file(project_root(), data.quarter))
        options.setdefault("districts", params.districts)
        options.setdefault("refine_seconds", params.time_limit)
        options.setdefault("refine_effort", params.effort)
        return cls(data, scenario, plan=plan, **options)

    # -- settings -------------------------------------------------------------------------
    def update(self, **changes) -> Scenario:
        """Change settings (validated); quota settings re-quote the plan on screen at once.

        Raises
        ------
        workbench.config.ParameterError
            Listing every problem with the new settings; nothing changes then.
        """
        new = self.scenario.replace(**changes)
        problems = new.problems(n_blocks=len(self.data.blocks))
        if problems:
            raise ParameterError("; ".join(problems))
        with self._lock:
            old, self.scenario = self.scenario, new
            if (old.history_weight, old.target_growth) != (new.history_weight, new.target_growth):
                self.plan_scenario = self.plan_scenario.replace(
                    history_weight=new.history_weight, target_growth=new.target_growth
                )
                self.quotas = scenario_quotas(
                    self.data, self.plan, self.plan_scenario, self._forecasts
                )
        return new

    def toggle_lock(self, unit_id: str) -> str | None:
        """Lock a block to its territory on screen, or unlock it; returns the territory it is
        now locked to (None: unlocked). Locks apply at the next :meth:`solve`."""
        uid = str(unit_id)
        if uid not in self.plan.assignment.index:
            raise KeyError(f"unknown block {uid!r}")
        with self._lock:
            locks = toggle_lock(self.scenario.locks, uid, self.plan.assignment[uid])
            self.scenario = self.scenario.replace(locks=locks)
        return locks.get(uid)

    def clear_locks(self) -> None:
        """Remove every lock."""
        with self._lock:
            self.scenario = self.scenario.replace(locks={})

    # -- planning -------------------------------------------------------------------------
    def today(self, scenario: Scenario | None = None) -> TerritoryPlan:
        """Today's alignment scored with the balance measures of ``scenario`` (cached)."""
        sc = scenario or self.scenario
        assert isinstance(sc.tolerance, Mapping)  # a dict since __post_init__
        key = (sc.balance, tuple(sc.tolerance.values()))
        if key not in self._today:
            cur = self.data.current
            if cur is None:
                raise ValueError("no block has a current owner: there is no alignment today")
            base = sc.replace(rep_home_centers=False, locks={})
            self._today[key] = evaluate_assignment(
                self.data, base, cur.set_index("unit_id")["territory"].astype(str)
            )
        return self._today[key]

    def _install(
        self,
        plan: TerritoryPlan,
        kind: str,
        scenario: Scenario,
        *,
        undoable: bool = False,
        exact: bool = False,
    ) -> None:
        """Show ``plan``; ``undoable``: the plan it replaces can be brought back (:meth:`undo`),
        with the settings as they are now when ``exact`` (a hand edit changes nothing else),
        else with the settings that produced it (a solve or a load comes after the controls
        changed them)."""
        with self._lock:
            if undoable:
                self._undo.append(self._snapshot(exact=exact))
                del self._undo[:-UNDO_DEPTH]
                self._redo.clear()
            self.plan, self.plan_kind, self.plan_scenario = plan, kind, scenario
            self.colours = assign_colours(plan.assignment.unique(), self.colours)
            self.quotas = scenario_quotas(self.data, plan, scenario, self._forecasts)

    def solve(self) -> TerritoryPlan:
        """Re-plan with the current settings within ``live_seconds`` (the preview).

        The designer improves today's alignment (no fresh starts, no lower bound) so the map
        answers at once; :meth:`refine` then searches properly.
        """
        with self._lock:
            self.generation += 1
            gen, scenario = self.generation, self.scenario
        plan = design_scenario(
            self.data, scenario, time_limit=self.live_seconds, effort=0.25, n_starts=0
        )
        with self._lock:
            if gen == self.generation:
                self._install(plan, "preview", scenario, undoable=True)
        return plan

    def refine(self, generation: int | None = None) -> TerritoryPlan | None:
        """Full search (multi-start, lower bound) for the settings of the plan on screen.

        Keeps the better of the refined plan and the preview (:func:`plan_quality`), with the
        lower bound attached either way, and returns it; returns ``None`` without changing
        anything when a newer solve or load started meanwhile (the search is then abandoned
        at its next progress report).
        """
        with self._lock:
            gen = self.generation if generation is None else generation
            if gen != self.generation:
                return None
            scenario, preview = self.plan_scenario, self.plan

        def progress(_msg: str) -> None:
            if self.generation != gen:
                raise SearchCancelled

        try:
            plan = design_scenario(
                self.data,
                scenario,
                time_limit=self.refine_seconds,
                effort=self.refine_effort,
                compute_bound=True,
                progress=progress,
            )
        except SearchCancelled:
            return None
        with self._lock:
            if gen != self.generation:
                return None
            if plan_quality(preview) < plan_quality(plan):
                plan = with_bound(preview, plan.lower_bound_km, plan.bound_method)
            self._install(plan, "refined", scenario)
            return plan

    # -- levels -----------------------------------------------------------------------------
    def groups(self, level: str, n: int = 0) -> pd.Series:
        """Block id -> its group at ``level`` for the plan on screen: ``district`` (the plan's
        territories grouped into ``n`` contiguous, balanced districts by the engine,
        :func:`workbench.territory.hierarchy.group_territories`; cached per plan) or ``region``
        (the blocks' region, from ``geo_units.csv``).

        Raises
        ------
        ValueError
            An unknown level, ``n`` outside 1..k, or blocks without regions.
        """
        plan = self.plan
        blocks = self.data.blocks
        ids = blocks["unit_id"].astype(str)
        if level == "region":
            if "region" not in blocks or blocks["region"].isna().all():
                raise ValueError(
                    "these blocks carry no region (geo_units.csv has no region column)"
                )
            return pd.Series(blocks["region"].astype(object).to_numpy(), index=ids.to_numpy())
        if level != "district":
            raise ValueError(f"level must be 'district' or 'region', got {level!r}")
        if not 1 <= n <= plan.k:
            raise ValueError(
                f"districts: choose 1 to {plan.k} (the territories on screen), got {n}"
            )
        cached = self._district_cache
        if cached is None or cached[0] is not plan or cached[1] != n:
            from ..territory.hierarchy import group_territories

            district, _ = group_territories(
                plan,
                blocks,
                k=n,
                adjacency=self.data.adjacency,
                tolerance=0.1,
                effort=0.25,
                time_limit=10.0,
                seed=self.plan_scenario.seed,
            )
            cached = (plan, n, plan.assignment.map(district).reindex(ids.to_numpy()))
            self._district_cache = cached
        return cached[2]

    # -- hand edits -----------------------------------------------------------------------
    def move(self, unit_ids: str | Sequence[str], territory: str) -> TerritoryPlan:
        """Move blocks to ``territory`` by hand and re-score the plan at once.

        The edited plan is measured as it stands (:func:`evaluate_assignment`: balance,
        compactness, contiguity, moves against today) and keeps the lower bound of the plan it
        came from, so its gap says how far the edit is from the best plan the bound allows -
        unless the edit moves more blocks than the budget the bound assumed (then no gap).
        Locked blocks that move stay locked, to their new territory. :meth:`undo` takes the
        edit back.

        Raises
        ------
        KeyError
            An unknown block.
        ValueError
            An unknown territory, no block that changes territory, or a move that would leave a
            territory empty (the number of territories stays as it is; change it with Solve).
        """
        ids = [str(unit_ids)] if isinstance(unit_ids, str) else [str(u) for u in unit_ids]
        target = str(territory)
        with self._lock:
            self.generation += 1  # an edit supersedes any refinement under way
            plan, scenario = self.plan, self.plan_scenario
        unknown = [u for u in ids if u not in plan.assignment.index]
        if unknown:
            raise KeyError(f"unknown block(s) {unknown[:5]}")
        if target not in set(plan.assignment):
            names = ", ".join(map(str, plan.territories.index))
            raise ValueError(f"no territory {target!r} on screen (territories: {names})")
        new = plan.assignment.astype(str).copy()
        changed = [u for u in dict.fromkeys(ids) if new[u] != target]
        if not changed:
            raise ValueError(f"the selected block(s) are already in {target}")
        new[changed] = target
        emptied = sorted(set(plan.assignment.astype(str)) - set(new))
        if emptied:
            raise ValueError(
                f"moving these {len(changed)} block(s) would leave {', '.join(emptied)} empty: "
                "keep at least one block in every territory (change the number with Solve)"
            )
        scored = evaluate_assignment(self.data, scenario, new)
        # the bound holds for plans within the move budget: an edit beyond it has no gap
        budget = plan.max_moved
        if budget is None or scored.n_moved <= budget:
            scored = with_bound(scored, plan.lower_bound_km, plan.bound_method, source=plan)
        with self._lock:
            if self.plan is not plan:  # a load or an undo came in meanwhile
                raise ValueError("the plan on screen changed during the edit: make it again")
            locks = dict(self.scenario.locks)
            locks.update({u: target for u in changed if u in locks})
            self._install(
                scored, "edited", scenario.replace(locks=locks), undoable=True, exact=True
            )
            self.scenario = self.scenario.replace(locks=locks)
        return scored

    def _snapshot(self, *, exact: bool = True) -> tuple:
        settings = self.scenario if exact else self.plan_scenario
        return (self.plan, self.plan_kind, self.plan_scenario, settings, self.quotas)

    def _restore(self, snapshot: tuple) -> None:
        self.plan, self.plan_kind, self.plan_scenario, self.scenario, self.quotas = snapshot
        self.colours = assign_colours(self.plan.assignment.unique(), self.colours)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo(self) -> TerritoryPlan:
        """Bring back the plan shown before the last edit, solve or load (settings and locks
        included); :meth:`redo` reverses it.

        Raises
        ------
        ValueError
            Nothing to undo.
        """
        with self._lock:
            if not self._undo:
                raise ValueError("nothing to undo")
            self.generation += 1
            self._redo.append(self._snapshot())
            self._restore(self._undo.pop())
            return self.plan

    def redo(self) -> TerritoryPlan:
        """Show again the plan the last :meth:`undo` took back.

        Raises
        ------
        ValueError
            Nothing to redo (an edit, solve or load after an undo clears what could be redone).
        """
        with self._lock:
            if not self._redo:
                raise ValueError("nothing to redo")
            self.generation += 1
            self._undo.append(self._snapshot())
            self._restore(self._redo.pop())
            return self.plan

    def metrics(self) -> dict[str, object]:
        """:func:`scenario_metrics` of the plan on screen."""
        return scenario_metrics(self.plan, self.quotas, self.data.blocks)

    # -- scenarios ------------------------------------------------------------------------
    def _folder(self) -> Path:
        if self.scenarios_dir is None:
            raise ValueError("this explorer has no scenarios folder: saving is off")
        return self.scenarios_dir

    def record(self, name: str = "(on screen)") -> dict:
        """The plan on screen as a scenario record (see :func:`scenario_record`)."""
        with self._lock:
            return scenario_record(
                name, self.plan_scenario, self.plan, self.quotas, self.data, search=self.plan_kind
            )

    def save(self, name: str) -> Path:
        """Save the plan on screen (its settings, assignment and metrics) under ``name``."""
        path = scenario_path(self._folder(), name)
        return save_scenario(path.parent, name, self.record(name))

    def adopt(self, name: str) -> Path:
        """Save the plan on screen as scenario ``name`` and make the quarter's report adopt it
        (:func:`workbench.territory.adopt.set_report_scenario` on ``report_params``): notebook
        03 then uses exactly this assignment. Returns the parameters file."""
        if self.report_params is None:
            raise ValueError("this explorer has no report parameters file: adoption is off")
        self.save(name)
        return set_report_scenario(self.report_params, name)

    def saved(self) -> list[str]:
        """Names of the saved scenarios."""
        return list_scenarios(self.scenarios_dir)

    def load(self, name: str) -> TerritoryPlan:
        """Show a saved scenario: its settings and exactly its saved assignment.

        Raises
        ------
        ValueError
            When the scenario was saved for other blocks (another data set or block type).
        """
        record = load_scenario(self._folder(), name)
        if record.get("blocks_fingerprint") != self.data.fingerprint:
            raise ValueError(
                f"scenario {name!r} was saved for other blocks ({record.get('block')}, "
                f"{record.get('quarter')}): its assignment does not fit this data"
            )
        scenario = Scenario.from_dict(record["scenario"])
        plan = evaluate_assignment(self.data, scenario, record["assignment"])
        met = record.get("metrics", {})
        # the bound of the run that saved it (a BoundMethod value, never prose)
        plan = with_bound(plan, met.get("lower_bound_km"), met.get("bound_method", "none"))
        with self._lock:
            self.generation += 1
            self.scenario = scenario
            self._install(plan, "loaded", scenario, undoable=True)
        return plan

    def compare(
        self, names: Sequence[str] = (), *, on_screen: bool = True, today: bool = True
    ) -> pd.DataFrame:
        """Saved scenarios side by side (:func:`compare_scenarios`), with the plan on screen
        and today's alignment as reference columns."""
        records: dict[str, Mapping] = {}
        if today and self.data.current is not None:
            now = self.today(self.plan_scenario)
            records["today"] = scenario_record(
                "today",
                self.plan_scenario.replace(locks={}),
                now,
                scenario_quotas(self.data, now, self.plan_scenario, self._forecasts),
                self.data,
                search="today",
            )
        if on_screen:
            records["on screen"] = self.record()
        for name in names:
            records[name] = load_scenario(self._folder(), name)
        return compare_scenarios(records)
