"""The explorer's presentation helpers, pure: frames in, JSON-ready dicts (map layers) or HTML
strings (KPI cards, balance bars, tables, block panel) out."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import territory as td
from ..plots import pct, usd
from ..territory import TerritoryPlan
from ..territory.odds import fairness_verdict
from .scenario import MEASURE_LABELS, MEASURES

# Distinct colours, strongest first; no greys (the county outlines are grey).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
    "#8c6d31",
    "#843c39",
    "#7b4173",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#6b6ecf",
)


# ---------------------------------------------------------------------------------------------
# Presentation helpers (pure: frames in, JSON-ready dicts or HTML strings out)


def assign_colours(
    names: Iterable[str], existing: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Territory → colour, keeping the colours already given so a territory keeps its colour
    from one plan to the next; new names take the first unused palette colour.

    >>> c = assign_colours(["R2", "R1"])
    >>> c
    {'R1': '#1f77b4', 'R2': '#ff7f0e'}
    >>> assign_colours(["T01"], c)["T01"]
    '#2ca02c'
    """
    out = dict(existing or {})
    for name in sorted({str(n) for n in names} - set(out)):
        used = set(out.values())
        free = [c for c in PALETTE if c not in used]
        out[name] = free[0] if free else PALETTE[len(out) % len(PALETTE)]
    return out


def _radius(potential: np.ndarray) -> np.ndarray:
    top = float(np.nanmax(potential)) if len(potential) else 0.0
    share = np.sqrt(np.clip(potential, 0, None) / top) if top > 0 else np.zeros(len(potential))
    return np.round(3.0 + 8.0 * share, 1)


def blocks_geojson(
    blocks: pd.DataFrame,
    assignment: pd.Series,
    colours: Mapping[str, str],
    *,
    locks: Collection[str] = (),
    highlight_moved: bool = False,
    groups: pd.Series | None = None,
    group_colours: Mapping[str, str] | None = None,
) -> dict:
    """Blocks as a GeoJSON FeatureCollection of points styled by territory (for ipyleaflet).

    Each feature's ``properties`` hold ``unit_id``, ``territory``, ``current``, ``moved``,
    ``locked`` and a Leaflet ``style`` (fill = territory colour, radius by potential, a dark ring
    when locked); the metrics stay on the Python side (the hover panel looks them up), which
    keeps each redraw's message small. With ``highlight_moved`` unmoved blocks fade. With
    ``groups`` (block id -> district or region) the fill is the group's colour
    (``group_colours``) and ``properties["group"]`` names it: the level toggles.

    >>> b = pd.DataFrame({"unit_id": ["1", "2"], "lat": [0.0, 1.0], "lon": [0.0, 1.0],
    ...     "potential_usd": [4.0, 1.0], "workload_hours": [1.0, 1.0], "accounts": [2.0, 1.0],
    ...     "revenue_usd": [0.0, 0.0], "territory": ["R1", "R1"]})
    >>> fc = blocks_geojson(b, pd.Series({"1": "R1", "2": "R2"}), {"R1": "#111", "R2": "#222"},
    ...                     locks={"2": "R2"})
    >>> [(f["properties"]["moved"], f["properties"]["locked"], f["properties"]["style"]["radius"])
    ...  for f in fc["features"]]
    [(False, False, 11.0), (True, True, 7.0)]
    """
    ids = blocks["unit_id"].astype(str)
    terr = ids.map(pd.Series(assignment).rename(index=str)).fillna("(none)")
    current = blocks["territory"].astype(object).where(blocks["territory"].notna(), None)
    radius = _radius(blocks["potential_usd"].to_numpy(float))
    group = None if groups is None else ids.map(pd.Series(groups).rename(index=str))
    features = []
    for i, (uid, t, cur, lat, lon) in enumerate(
        zip(ids, terr, current, blocks["lat"], blocks["lon"], strict=True)
    ):
        locked = uid in locks
        moved = cur is not None and str(cur) != t
        faded = highlight_moved and not moved
        fill = (
            colours.get(t, "#888888")
            if group is None
            else (group_colours or {}).get(str(group.iloc[i]), "#888888")
        )
        style = {
            "radius": float(radius[i]),
            "fillColor": fill,
            "fillOpacity": 0.25 if faded else 0.9,
            "color": "#111111" if locked else "#ffffff",
            "weight": 2.5 if locked else 0.8,
            "opacity": 0.3 if faded and not locked else 1.0,
        }
        props = {
            "unit_id": uid,
            "territory": t,
            "current": None if cur is None else str(cur),
            "moved": bool(moved),
            "locked": locked,
            "style": style,
        }
        if group is not None:
            props["group"] = None if pd.isna(group.iloc[i]) else str(group.iloc[i])
        features.append(
            {
                "type": "Feature",
                "id": uid,
                "properties": props,
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(lon), 5), round(float(lat), 5)],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def reps_geojson(reps: pd.DataFrame, colours: Mapping[str, str]) -> dict:
    """Active reps' home bases as GeoJSON points: black dots ringed in their territory's colour."""
    act = td.active_reps(reps).dropna(subset=["home_lat", "home_lon"])
    features = []
    for r in act.itertuples(index=False):
        rid = str(r.rep_id)
        style = {
            "radius": 6.0,
            "fillColor": "#111111",
            "fillOpacity": 1.0,
            "color": colours.get(rid, "#ffffff"),
            "weight": 3.0,
            "opacity": 1.0,
        }
        features.append(
            {
                "type": "Feature",
                "id": f"rep-{rid}",
                "properties": {
                    "rep_id": rid,
                    "rep_name": str(getattr(r, "rep_name", rid)),
                    "style": style,
                },
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(r.home_lon), 5), round(float(r.home_lat), 5)],
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def counties_geojson(polygons, *, simplify_deg: float = 0.003) -> dict:
    """Unit outlines as plain GeoJSON (simplified: they are context, not data)."""
    g = (
        polygons[["unit_id", "unit_name", "geometry"]]
        if "unit_name" in polygons
        else polygons[["unit_id", "geometry"]]
    )
    g = g.assign(geometry=g.geometry.simplify(simplify_deg, preserve_topology=True))
    return json.loads(g.to_json(drop_id=True))


def map_view(
    lat: Sequence[float] | np.ndarray,
    lon: Sequence[float] | np.ndarray,
    *,
    width_px: int = 720,
    height_px: int = 540,
    padding: float = 0.04,
) -> tuple[tuple[float, float], float]:
    """Centre and zoom (quarter steps) of a Web-Mercator map showing every point.

    At zoom z the world is ``256 * 2**z`` pixels wide; the zoom is the largest that fits the
    points' longitude span across ``width_px`` and their Mercator latitude span down
    ``height_px``, less ``padding`` on each side.

    Georgia (30.36-35.0 N, 85.6-80.84 W): the Mercator latitude span is 0.0963 of 2 pi, so
    the height allows log2(540 * 0.92 / (256 * 0.01533)) = 6.98, the width 7.61: zoom 6.75.

    >>> centre, zoom = map_view([30.36, 35.0], [-85.6, -80.84])
    >>> [round(c, 2) for c in centre], zoom
    ([32.71, -83.22], 6.75)
    """
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)

    def merc(phi):
        return np.log(np.tan(np.pi / 4 + np.radians(phi) / 2))

    s, n, w, e = lat.min(), lat.max(), lon.min(), lon.max()
    fx = max((e - w) / 360.0, 1e-9)
    fy = max((merc(n) - merc(s)) / (2 * np.pi), 1e-9)
    use = 1 - 2 * padding
    zoom = min(math.log2(width_px * use / (256 * fx)), math.log2(height_px * use / (256 * fy)))
    zoom = float(np.clip(math.floor(zoom * 4) / 4, 1, 18))
    ymid = (merc(n) + merc(s)) / 2
    clat = float(np.degrees(2 * np.arctan(np.exp(ymid)) - np.pi / 2))
    return (clat, float((w + e) / 2)), zoom


def _swatch(colour: str) -> str:
    return f'<span class="wbx-sw" style="background:{colour}"></span>'


def territory_reps(territories: Iterable[str], reps: pd.DataFrame) -> dict[str, str]:
    """Territory → rep name: territories named after an active rep keep that rep; others are
    ``vacant`` (to be hired or reassigned)."""
    act = td.active_reps(reps)
    names = dict(
        zip(act["rep_id"].astype(str), act.get("rep_name", act["rep_id"]).astype(str), strict=True)
    )
    return {t: names.get(str(t), "vacant") for t in territories}


def territory_kpis(
    blocks: pd.DataFrame,
    plan: TerritoryPlan,
    quotas: pd.DataFrame | None = None,
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per territory: rep, blocks, every measure's total, compactness, moves, quota.

    Columns: ``rep``, ``blocks``, the :data:`MEASURES` present in ``blocks`` (sums),
    ``mean_km`` (potential-weighted mean distance to the centre), ``max_km``, ``moved_in``
    (blocks gained from another territory), and ``quota_usd``, ``expected_attainment`` when
    ``quotas`` are given, with ``p_attain`` (the chance of making the quota) and
    ``equal_chance_quota_usd`` when they carry odds.
    """
    terr = blocks["unit_id"].astype(str).map(plan.assignment)
    cols = [m for m in MEASURES if m in blocks]
    sums = blocks[cols].groupby(terr.to_numpy()).sum()
    t = plan.territories
    out = pd.DataFrame(index=t.index.rename("territory"))
    out["rep"] = pd.Series(territory_reps(t.index, reps)) if reps is not None else ""
    out["blocks"] = t["n_units"].astype(int)
    out = out.join(sums)
    out["mean_km"] = t["distance_km"]
    out["max_km"] = t["max_km"]
    out["moved_in"] = t["moved_in"].astype(int)
    if quotas is not None:
        out["quota_usd"] = quotas["quota_usd"].reindex(out.index)
        out["expected_attainment"] = quotas["expected_attainment"].reindex(out.index)
        if "p_attain" in quotas:
            out["p_attain"] = quotas["p_attain"].reindex(out.index)
            out["equal_chance_quota_usd"] = quotas["equal_chance_quota_usd"].reindex(out.index)
    return out


def balance_html(plan: TerritoryPlan, colours: Mapping[str, str]) -> str:
    """Diverging bars of every territory's deviation from the mean, per balanced measure,
    over the shaded tolerance band (green inside the band, red outside)."""
    dev = plan.deviation_pct / 100.0
    tol = plan.tolerance
    head = "".join(
        f'<th>{html.escape(MEASURE_LABELS.get(m, m))} <span class="wbx-muted">band '
        f"±{pct(tol[m], 1)}</span></th>"
        for m in plan.measures
    )
    scale = {}
    worst: float | str  # each measure's largest deviation, then the summary line
    for m in plan.measures:
        worst = float(dev[m].abs().max()) if len(dev) else 0.0
        scale[m] = min(max(2 * tol[m], 1.1 * worst), max(0.5, 2 * tol[m]))
    rows = []
    for t in dev.index:
        cells = []
        for m in plan.measures:
            d, tm, s = float(dev.at[t, m]), float(tol[m]), scale[m]
            bad = abs(d) > tm + 1e-9
            w = min(abs(d) / s, 1.0) * 50
            left = 50 if d >= 0 else 50 - w
            clip = '<span class="wbx-clip">›</span>' if abs(d) > s else ""
            cells.append(
                f'<td><div class="wbx-bar"><div class="wbx-band" '
                f'style="left:{50 - 50 * tm / s:.2f}%;width:{100 * tm / s:.2f}%"></div>'
                f'<div class="wbx-zero"></div>'
                f'<div class="wbx-fill {"wbx-bad" if bad else "wbx-ok"}" style="left:{left:.2f}%;'
                f'width:{w:.2f}%"></div>{clip}</div>'
                f'<span class="wbx-val{" wbx-badtext" if bad else ""}">{pct(d, 1, sign=True)}'
                f"</span></td>"
            )
        rows.append(
            f'<tr class="wbx-row" data-territory="{html.escape(str(t))}"><td class="wbx-t">'
            f"{_swatch(colours.get(t, '#888'))}{html.escape(str(t))}</td>{''.join(cells)}</tr>"
        )
    worst = " · ".join(
        f"{html.escape(MEASURE_LABELS.get(m, m))} worst {pct(plan.max_deviation[m], 1)}"
        for m in plan.measures
    )
    return (
        f'<div class="wbx-balance" data-k="{plan.k}"><table class="wbx-table wbx-btable">'
        f"<thead><tr><th>Territory</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody>"
        f'</table><div class="wbx-muted wbx-foot">Deviation from the territory mean; shaded: '
        f"the tolerance band. {worst}.</div></div>"
    )


def kpis_html(table: pd.DataFrame, colours: Mapping[str, str]) -> str:
    """The :func:`territory_kpis` table as compact HTML (swatches, $ and km formatting)."""
    spec: list[tuple[str, str, Callable[..., str]]] = [
        ("rep", "Rep", str),
        ("blocks", "Blocks", "{:,.0f}".format),
        ("accounts", "Accounts", "{:,.0f}".format),
        ("potential_usd", "Potential", usd),
        ("workload_hours", "Workload h", "{:,.0f}".format),
        ("revenue_usd", "Revenue", usd),
        ("mean_km", "Mean km", "{:,.1f}".format),
        ("max_km", "Max km", "{:,.0f}".format),
        ("moved_in", "Moved in", "{:,.0f}".format),
        ("quota_usd", "Quota", usd),
        ("expected_attainment", "Exp. attainment", lambda v: pct(v, 0)),
        ("p_attain", "Chance", lambda v: pct(v, 0)),
        ("equal_chance_quota_usd", "Equal-chance quota", usd),
    ]
    spec = [s for s in spec if s[0] in table]
    head = "".join(f"<th>{label}</th>" for _, label, _ in spec)
    rows = []
    for t, row in table.iterrows():
        cells = "".join(
            f"<td>{html.escape(fmt(row[c])) if not (c != 'rep' and pd.isna(row[c])) else '–'}</td>"
            for c, _, fmt in spec
        )
        rows.append(
            f'<tr class="wbx-row"><td class="wbx-t">{_swatch(colours.get(t, "#888"))}'
            f"{html.escape(str(t))}</td>{cells}</tr>"
        )
    return (
        f'<div class="wbx-kpis"><table class="wbx-table wbx-ktable"><thead><tr><th>Territory'
        f"</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def headline_html(metrics: Mapping[str, Any], *, kind: str, budget_share: float) -> str:
    """KPI cards: balance per measure, compactness, disruption, optimality gap, quotas."""
    cards = []

    def card(label, value, sub="", ok=None, cls=""):
        state = "" if ok is None else (" wbx-good" if ok else " wbx-warn")
        cards.append(
            f'<div class="wbx-card{state} {cls}"><div class="wbx-cl">{label}</div>'
            f'<div class="wbx-cv">{value}</div><div class="wbx-cs">{sub}</div></div>'
        )

    for key in [k for k in metrics if k.startswith("max_dev_")]:
        m = key.removeprefix("max_dev_")
        v, t = metrics[key], metrics[f"tolerance_{m}"]
        card(
            f"{MEASURE_LABELS.get(m, m)} balance",
            f"±{pct(v, 1)}",
            f"worst territory · band ±{pct(t, 1)}",
            ok=v <= t + 1e-9,
        )
    card("Compactness", f"{metrics['median_km']:.1f} km", "weighted mean distance to centre")
    n, share = metrics["n_moved"], metrics["share_moved"]
    budget = "no limit" if budget_share >= 1 else f"budget {pct(budget_share, 0)}"
    acc = metrics.get("accounts_moved")
    card(
        "Disruption",
        f"{n:,} blocks",
        f"{pct(share, 0)} moved ({budget})" + (f" · {acc:,} accounts" if acc is not None else ""),
        ok=None if budget_share >= 1 else share <= budget_share + 1e-9,
        cls="wbx-disruption",
    )
    gap = metrics.get("gap")
    if gap is not None:
        # every bound method gives a valid lower bound (BoundMethod), so the gap is certified
        method = html.escape(str(metrics.get("bound_method", "")))
        card(
            "Optimality gap",
            f"≤ {pct(gap, 1)}",
            f'<span title="{method}">certified: at most this far from the best plan</span>',
            cls="wbx-gap",
        )
    else:
        why = {
            "preview": "preview: no bound yet",
            "loaded": "no bound saved",
            "today": "today's alignment",
        }.get(kind, "no bound (plan misses a band)")
        if kind == "refined" and metrics.get("lower_bound_km") is None:
            why = "bound not available"
        card("Optimality gap", "n/a", why, cls="wbx-gap")
    cv = metrics.get("quota_cv")
    if cv is not None:
        card(
            "Quota spread",
            f"cv {pct(cv, 1)}",
            f"expected attainment {metrics['attainment_min']:.2f}–{metrics['attainment_max']:.2f}",
        )
    if metrics.get("chance_min") is not None:
        lo, hi = metrics["chance_min"], metrics["chance_max"]
        card(
            "Chance of making quota",
            f"{pct(lo, 0)}–{pct(hi, 0)}",
            f"target {pct(metrics['target_chance'], 0)} · equal-chance quotas "
            f"{pct(metrics['equal_chance'], 0)} each",
            ok=fairness_verdict(100 * (hi - lo)) == "even",
            cls="wbx-odds",
        )
    v = metrics["violations"]
    contiguous = metrics.get("contiguous")
    card(
        "Constraints",
        "all met" if v == 0 else f"{v} not met",
        "contiguous" if contiguous else ("not contiguous" if contiguous is False else ""),
        ok=v == 0,
    )
    return f'<div class="wbx-cards">{"".join(cards)}</div>'


def notes_html(plan: TerritoryPlan) -> str:
    """The constraints a plan does not meet and the planner's notes, as a list."""
    if not plan.violations and not plan.notes:
        return '<div class="wbx-notes">Every constraint is met.</div>'
    items = [
        f"<li><b>{html.escape(v.constraint)}</b> [{html.escape(v.subject)}]: "
        f"{html.escape(v.reason)}</li>"
        for v in plan.violations
    ]
    items += [f"<li><b>note</b>: {html.escape(n)}</li>" for n in plan.notes]
    return f'<div class="wbx-notes"><ul>{"".join(items)}</ul></div>'


def block_html(props: Mapping[str, object], *, county: str = "") -> str:
    """The hover / click panel of one block (a compact two-column grid)."""
    pairs = [
        ("Territory", html.escape(str(props.get("territory")))),
        ("Today", html.escape(str(props.get("current") or "–"))),
        ("Potential", usd(props.get("potential_usd"))),
        ("Workload", f"{props.get('workload_hours', 0):,.0f} h/yr"),
        ("Accounts", f"{props.get('accounts', 0):,.0f}"),
        ("Revenue 4q", usd(props.get("revenue_usd"))),
    ]
    flags = []
    if props.get("moved"):
        flags.append("moves territory")
    if props.get("locked"):
        flags.append("locked")
    cells = "".join(f"<span>{k}</span><b>{v}</b>" for k, v in pairs)
    where = f" · {html.escape(county)}" if county else ""
    return (
        f'<div class="wbx-block"><div class="wbx-bh">Block '
        f"{html.escape(str(props.get('unit_id')))}{where}</div>"
        f'<div class="wbx-grid">{cells}</div><div class="wbx-muted">'
        f"{' · '.join(flags) or 'stays in its territory'} · a click locks / unlocks it (moves "
        "it in Move mode)</div></div>"
    )


def compare_html(frame: pd.DataFrame) -> str:
    """:func:`compare_scenarios` as an HTML table."""

    def fmt(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "–"
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:,.1f}" if abs(v) >= 10 or v != round(v, 1) else f"{v:g}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        f"<tr><th>{html.escape(str(i))}</th>" + "".join(f"<td>{fmt(v)}</td>" for v in r) + "</tr>"
        for i, r in zip(frame.index, frame.itertuples(index=False), strict=True)
    )
    return (
        f'<div class="wbx-compare"><table class="wbx-table wbx-ctable"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{rows}</tbody></table></div>"
    )
