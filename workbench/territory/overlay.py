"""Industry overlays: specialist teams that share accounts with the geographic reps.

An overlay group is a set of industries (e.g. a healthcare team over ``Healthcare`` and
``Hospitals``) worked by ``specialists`` people. Each specialist covers a territory of their
own, designed by the same engine over **all** of the group's accounts (named accounts
included): the group's accounts grouped into blocks, territories contiguous, balanced on the
measures and compact. The geographic (or named-account) owner keeps the account; the specialist
shares it.

Crediting rule (:func:`credit`)
    Every won dollar is credited once to the account's **primary** owner (its geographic
    territory or named-account seat) and, when the account is in an overlay group, once more to
    the **overlay** specialist covering it. So a deal counts for two people in two roles, never
    twice for one: the primary credits sum to the company's revenue, and each group's overlay
    credits sum to the revenue of its accounts. Overlay quotas (:func:`overlay_quotas`) are set
    on the same basis: the group's trailing revenue × (1 + growth), split over its specialists by
    the history / potential blend - a second count of revenue the primary quotas already hold,
    not a part of the company target.

Workload
    A specialist spends ``share`` of an account's call-plan hours on it (``overlay_share``,
    default 0.3: an assumption, stated in the tables); the group's hours against one
    specialist's capacity give the specialists its workload needs (:meth:`OverlayTeam.sizing`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import ParameterError, Quarter
from ..frames import isin
from ..results import TWO_DECIMALS, Results, Summary
from .blocks import block_adjacency, building_blocks
from .designer import build_territories
from .plan import TerritoryPlan
from .quota import QuotaPlan, allocate_quotas, attainment_spread, quota_year
from .sizing import Capacity

__all__ = [
    "OVERLAY_SHARE",
    "Credits",
    "OverlayGroup",
    "OverlayTeam",
    "credit",
    "credit_table",
    "design_overlays",
    "overlay_quotas",
    "parse_overlays",
]

OVERLAY_SHARE = 0.3
"""Default share of an account's call-plan hours its overlay specialist spends on it."""

_SLUG = re.compile(r"[^a-z0-9]+")


@dataclasses.dataclass(frozen=True)
class OverlayGroup:
    """An overlay team: its name, the industries it covers, how many specialists."""

    name: str
    industries: tuple[str, ...]
    specialists: int

    @property
    def prefix(self) -> str:
        """Territory names of the group: ``<slug>-01``, ``<slug>-02`` ...

        >>> OverlayGroup("Health care", ("Healthcare",), 2).prefix
        'health-care'
        """
        return _SLUG.sub("-", self.name.lower()).strip("-") or "overlay"


def parse_overlays(spec: Mapping, *, industries: Sequence[str] = ()) -> list[OverlayGroup]:
    """Overlay groups from notebook 03's ``overlays`` parameter: ``{name: {"industries": [...],
    "specialists": n}}``. Every problem is reported at once; with ``industries`` (the values the
    accounts hold) an industry no account has is a problem too.

    >>> parse_overlays({"healthcare": {"industries": ["Healthcare"], "specialists": 2}})
    [OverlayGroup(name='healthcare', industries=('Healthcare',), specialists=2)]
    """
    if not isinstance(spec, Mapping):
        raise ParameterError(f"overlays must be a mapping of group -> settings, got {spec!r}")
    problems: list[str] = []
    groups: list[OverlayGroup] = []
    owner: dict[str, str] = {}
    known = set(map(str, industries))
    for name, settings in spec.items():
        where = f"overlays[{name!r}]"
        if not isinstance(settings, Mapping):
            problems.append(f"{where}: expected {{'industries': [...], 'specialists': n}}")
            continue
        extra = sorted(set(settings) - {"industries", "specialists"})
        if extra:
            problems.append(f"{where}: unknown setting(s) {extra}")
        ind = settings.get("industries")
        if isinstance(ind, str):
            ind = [ind]
        if not ind or not all(isinstance(i, str) and i.strip() for i in ind):
            problems.append(f"{where}: industries must be a non-empty list of industry names")
            ind = []
        n = settings.get("specialists")
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            problems.append(f"{where}: specialists must be a whole number ≥ 1, got {n!r}")
            n = 0
        for i in ind:
            if i in owner:
                problems.append(f"{where}: industry {i!r} is already in overlay {owner[i]!r}")
            owner.setdefault(i, str(name))
            if known and i not in known:
                shown = ", ".join(sorted(known)[:12])
                problems.append(f"{where}: no account has industry {i!r} (industries: {shown})")
        groups.append(OverlayGroup(str(name), tuple(ind), int(n)))
    slugs = [g.prefix for g in groups]
    clash = sorted({s for s in slugs if slugs.count(s) > 1})
    if clash:
        problems.append(f"overlays: group names collide once made into territory names: {clash}")
    if problems:
        raise ParameterError("\n".join(problems))
    return groups


@dataclasses.dataclass(frozen=True, repr=False)
class OverlayTeam(Results):
    """The overlay teams' territories.

    Attributes
    ----------
    groups : list of OverlayGroup
    plans : dict
        Group name -> its plan over the blocks of its accounts (territories ``<prefix>-NN``).
    assignment : pandas.Series
        Account id -> overlay territory, for every account in an overlay group.
    group_of : pandas.Series
        Account id -> overlay group name (same index as ``assignment``).
    totals : pandas.DataFrame
        Per overlay territory: ``group``, ``accounts``, ``potential_usd``, ``revenue_usd`` and
        ``specialist_hours`` (``share`` × the accounts' call-plan hours a year).
    share : float
        Share of an account's call-plan hours its specialist spends on it.
    """

    groups: list[OverlayGroup]
    plans: dict[str, TerritoryPlan]
    assignment: pd.Series
    group_of: pd.Series
    totals: pd.DataFrame
    share: float = OVERLAY_SHARE

    @property
    def empty(self) -> bool:
        return not self.groups

    def table(self) -> pd.DataFrame:
        """One row per overlay territory: group, accounts, potential, revenue, the
        specialist's hours, deviation per balanced measure (%), contiguity."""
        rows = []
        for g in self.groups:
            plan = self.plans[g.name]
            t = plan.territories
            frame = self.totals.reindex(t.index).copy()
            for m in plan.measures:
                frame[f"{m}_dev_pct"] = t[f"{m}_dev_pct"]
            frame["contiguous"] = t["contiguous"]
            rows.append(frame)
        return pd.concat(rows).rename_axis("overlay_territory") if rows else pd.DataFrame()

    def sizing(self, capacity: Capacity) -> pd.DataFrame:
        """Per group: specialists set, the group's specialist hours, the specialists those
        hours need at one specialist's effective hours (``capacity``), and the mean use."""
        rows = []
        for g in self.groups:
            hours = float(self.totals.loc[self.totals["group"] == g.name, "specialist_hours"].sum())
            need = hours / capacity.hours_per_rep if capacity.hours_per_rep > 0 else np.nan
            rows.append(
                {
                    "group": g.name,
                    "specialists": g.specialists,
                    "specialist_hours": hours,
                    "needed_exact": need,
                    "needed": max(1, math.ceil(need - 1e-9)) if np.isfinite(need) else np.nan,
                    "mean_use": need / g.specialists if g.specialists else np.nan,
                }
            )
        return pd.DataFrame(rows).set_index("group")

    def summary(self) -> Summary:
        if self.empty:
            return Summary(
                {"value": [0]},
                index=pd.Index(["overlay groups"], name="metric"),
                title="Industry overlays: none (parameter overlays is empty)",
            )
        notes = [
            f"{g.name}: {int((self.group_of == g.name).sum())} accounts in "
            f"{', '.join(g.industries)}, {g.specialists} specialist(s)"
            for g in self.groups
        ]
        notes.append(
            "Crediting: every won dollar counts once for the account's primary owner (territory "
            "or named seat) and once more for its overlay specialist - two roles, never twice "
            f"for one. A specialist spends {self.share:.0%} of an account's call-plan hours on it."
        )
        return Summary(
            self.table(), title="Industry overlays", notes=notes, float_format=TWO_DECIMALS
        )


def design_overlays(
    accounts: pd.DataFrame,
    groups: Sequence[OverlayGroup],
    *,
    block: str = "postal_code",
    balance: str | Sequence[str] = ("potential_usd", "workload_hours"),
    tolerance: float = 0.05,
    share: float = OVERLAY_SHARE,
    polygons=None,
    seed: int = 0,
    **options,
) -> OverlayTeam:
    """Each group's specialist territories: the group's accounts (``industry`` in its
    industries) grouped into blocks, ``specialists`` contiguous territories balanced on
    ``balance``, compact (the engine; no current alignment, so nothing counts as moved).

    Raises
    ------
    ParameterError
        ``share`` outside (0, 1], or a group with more specialists than blocks.
    """
    if not 0 < share <= 1:
        raise ParameterError(f"overlay_share must be in (0, 1], got {share}")
    ids = accounts["account_id"].astype(str).str.strip()
    industry = accounts["industry"].astype(str)
    plans, assign, group_of, totals = {}, [], [], []
    problems = []
    for g in groups:
        mine = accounts.loc[industry.isin(g.industries).to_numpy()]
        blocks = building_blocks(mine, block=block)
        if g.specialists > len(blocks):
            problems.append(
                f"overlay {g.name!r}: {g.specialists} specialists for {len(blocks)} blocks of its "
                "accounts"
            )
            continue
        adjacency = block_adjacency(blocks, block=block, polygons=polygons)
        plan = build_territories(
            blocks.drop(columns=[c for c in ("territory", "region") if c in blocks]),
            k=g.specialists,
            balance=balance,
            tolerance=tolerance,
            adjacency=adjacency,
            seed=seed,
            **options,
        )
        names = {t: f"{g.prefix}-{i:02d}" for i, t in enumerate(sorted(plan.territories.index), 1)}
        plan = plan.renamed(names)
        plans[g.name] = plan
        territory = mine[block].astype(str).map(plan.assignment)
        assign.append(pd.Series(territory.to_numpy(), index=ids[mine.index].to_numpy()))
        group_of.append(pd.Series(g.name, index=ids[mine.index].to_numpy()))
        by = mine.assign(overlay_territory=territory.to_numpy()).groupby("overlay_territory")
        totals.append(
            pd.DataFrame(
                {
                    "group": g.name,
                    "accounts": by.size(),
                    "potential_usd": by["potential_usd"].sum(),
                    "revenue_usd": by["revenue_usd"].sum(),
                    "specialist_hours": share * by["hours_per_year"].sum(),
                }
            )
        )
    if problems:
        raise ParameterError("\n".join(problems))
    empty = pd.Series(dtype=object)
    return OverlayTeam(
        groups=list(groups),
        plans=plans,
        assignment=pd.concat(assign).rename("overlay_territory") if assign else empty,
        group_of=pd.concat(group_of).rename("group") if group_of else empty,
        totals=pd.concat(totals) if totals else pd.DataFrame(),
        share=share,
    )


def overlay_quotas(
    accounts: pd.DataFrame,
    team: OverlayTeam,
    facts: pd.DataFrame,
    *,
    quarter: Quarter | str,
    target_growth: float,
    history_weight: float,
) -> QuotaPlan | None:
    """Overlay quotas: per group, its accounts' trailing revenue × (1 + ``target_growth``),
    split over its specialist territories by the history / potential blend (with the company's
    seasonality). A second count of revenue the primary quotas hold (the crediting rule).
    None without overlays."""
    if team.empty:
        return None
    ids = accounts["account_id"].astype(str).str.strip()
    mine = accounts.assign(
        overlay_territory=ids.map(team.assignment).to_numpy(),
        group=ids.map(team.group_of).to_numpy(),
    ).dropna(subset=["overlay_territory"])
    season, year = quota_year(facts, quarter)
    tables = []
    for g in team.groups:
        per = (
            mine[mine["group"] == g.name]
            .groupby("overlay_territory")[["revenue_usd", "potential_usd"]]
            .sum()
        )
        target = float(per["revenue_usd"].sum()) * (1 + target_growth)
        table = allocate_quotas(
            per,
            target_usd=target,
            history_weight=history_weight,
            season=season,
            year_quarters=year,
        )
        table.insert(0, "group", g.name)
        tables.append(table)
    out = pd.concat(tables)
    return QuotaPlan(
        table=out,
        spread=attainment_spread(out),
        target_usd=float(out["quota_usd"].sum()),
        history_weight=history_weight,
    )


def credit(
    won: pd.DataFrame, primary: pd.Series | Mapping, overlay: pd.Series | Mapping | None = None
) -> pd.DataFrame:
    """Credit every won dollar by the crediting rule (module docstring).

    Parameters
    ----------
    won : DataFrame
        One row per deal (or account × quarter): ``account_id``, ``won_usd`` and any other
        columns (carried).
    primary : Series or mapping
        Account id -> primary credit holder (territory or named seat); every account of
        ``won`` must have one.
    overlay : Series or mapping, optional
        Account id -> overlay territory, for the accounts in an overlay group.

    Returns
    -------
    DataFrame
        One row per deal and credit holder: the deal's columns, ``holder``, ``role``
        (``primary`` or ``overlay``) and ``credit_usd``.

    Raises
    ------
    ValueError
        Accounts without a primary holder.

    >>> won = pd.DataFrame({"deal": ["d1", "d2"], "account_id": ["a", "b"],
    ...                     "won_usd": [100.0, 40.0]})
    >>> c = credit(won, {"a": "T1", "b": "T2"}, {"a": "hc-01"})
    >>> c[["deal", "holder", "role", "credit_usd"]].values.tolist()
    [['d1', 'T1', 'primary', 100.0], ['d1', 'hc-01', 'overlay', 100.0], \
['d2', 'T2', 'primary', 40.0]]
    """
    prim = pd.Series(primary, dtype=object)
    acc = won["account_id"].astype(str).str.strip()
    holder = acc.map(prim)
    if holder.isna().any():
        missing = sorted(set(acc[holder.isna()]))
        raise ValueError(f"{len(missing)} account(s) have no primary holder: {missing[:10]}")
    pos = np.arange(len(won))
    parts = [
        won.assign(
            holder=holder.to_numpy(), role="primary", credit_usd=won["won_usd"], _pos=pos, _r=0
        )
    ]
    if overlay is not None:
        ov = acc.map(pd.Series(overlay, dtype=object))
        hit = ov.notna().to_numpy()
        parts.append(
            won.loc[hit].assign(
                holder=ov[hit].to_numpy(),
                role="overlay",
                credit_usd=won.loc[hit, "won_usd"],
                _pos=pos[hit],
                _r=1,
            )
        )
    out = pd.concat(parts).sort_values(["_pos", "_r"], kind="stable")
    return out.drop(columns=["_pos", "_r"]).reset_index(drop=True)


def credit_table(credits: pd.DataFrame) -> pd.DataFrame:
    """Credit per holder (index ``holder``): ``role``, ``deals`` (rows credited) and
    ``credit_usd``; primary holders first."""
    g = credits.groupby(["role", "holder"])
    out = pd.DataFrame({"deals": g.size(), "credit_usd": g["credit_usd"].sum()}).reset_index()
    out["_first"] = out["role"] != "primary"
    out = out.sort_values(["_first", "holder"]).drop(columns="_first")
    return out.set_index("holder")


@dataclasses.dataclass(frozen=True, repr=False)
class Credits(Results):
    """Won revenue credited by the crediting rule (module docstring).

    Attributes
    ----------
    credits : pandas.DataFrame
        :func:`credit`'s rows: one per deal and credit holder.
    table : pandas.DataFrame
        :func:`credit_table`: per holder, its role, deals and credit.
    revenue_usd : float
        The won revenue credited (each deal once).
    overlay_revenue_usd : float
        The part of it on overlay accounts.
    """

    credits: pd.DataFrame
    table: pd.DataFrame
    revenue_usd: float
    overlay_revenue_usd: float

    @classmethod
    def of(
        cls, won: pd.DataFrame, primary: pd.Series | Mapping, overlay: pd.Series | None = None
    ) -> Credits:
        rows = credit(won, primary, overlay)
        acc = won["account_id"].astype(str).str.strip()
        on_overlay = (
            pd.Series(isin(acc, overlay.index), index=acc.index)
            if overlay is not None
            else acc.isna()
        )
        return cls(
            credits=rows,
            table=credit_table(rows),
            revenue_usd=float(won["won_usd"].sum()),
            overlay_revenue_usd=float(won.loc[on_overlay.to_numpy(), "won_usd"].sum()),
        )

    def summary(self) -> Summary:
        by_role = self.table.groupby("role")["credit_usd"].sum()
        notes = [
            "Rule: every won dollar counts once for the account's primary owner (territory or "
            "named seat) and once more for its overlay specialist, never twice for one holder.",
            f"Primary credits {by_role.get('primary', 0.0):,.0f} USD = the revenue, "
            f"{self.revenue_usd:,.0f} USD; overlay credits {by_role.get('overlay', 0.0):,.0f} "
            f"USD = the overlay accounts' revenue, {self.overlay_revenue_usd:,.0f} USD.",
        ]
        return Summary(
            self.table, title="Credit under the plan", notes=notes, float_format=TWO_DECIMALS
        )
