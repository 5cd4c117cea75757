"""Saved scenarios and the plan a report adopts from one.

The scenario explorer saves a plan as ``<processed>/scenarios/<name>.json``: its settings, its
assignment (block id -> territory) and headline metrics. Notebook 03 (and so the quarterly
report) *adopts* one by name (parameter ``scenario``): the proposed plan is then exactly the
saved assignment, block for block, scored as it stands (:func:`score_assignment`) with the lower
bound of the search that produced it. Nothing is re-optimised.

The report finds the name in the quarter's parameters file,
``reports/params/<quarter>.yaml``, section ``03_territory_design``; :func:`set_report_scenario`
writes it there (the explorer's *Adopt* button and ``workbench adopt``), keeping the file's
comments and other settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from ..config import ParameterError, Quarter
from ..io import check_stage_record, stage_folder, write_bytes_atomic
from .designer import TerritoryDesigner
from .plan import TerritoryPlan
from .team import design_settings

SCENARIO_FORMAT = 1
"""Version of the scenario record (``format`` key)."""

#: The notebook section of a quarter's parameters file that names the adopted scenario.
REPORT_SECTION = "03_territory_design"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


# ---------------------------------------------------------------------------------------------
# Scenario files


def scenario_path(folder: str | Path, name: str) -> Path:
    """``<folder>/<name>.json`` for a valid scenario name.

    >>> scenario_path("/tmp/s", "tight-balance").name
    'tight-balance.json'
    """
    if not _NAME_RE.match(name or "") or name.lower().endswith(".json"):
        raise ValueError(
            f"scenario name {name!r}: use 1-64 letters, digits, '-', '_' or '.', starting with a "
            "letter or digit (e.g. 'tight-balance')"
        )
    return Path(folder) / f"{name}.json"


def list_scenarios(folder: str | Path | None) -> list[str]:
    """Names of the saved scenarios in ``folder``, sorted (empty when there is none)."""
    if folder is None or not Path(folder).is_dir():
        return []
    return sorted(p.stem for p in Path(folder).glob("*.json") if _NAME_RE.match(p.stem))


def load_scenario(folder: str | Path, name: str) -> dict:
    """Read a saved scenario record (keys declared in :data:`workbench.stages.SCENARIOS`).

    Raises
    ------
    FileNotFoundError
        No scenario of that name (the message lists the saved ones).
    ValueError
        Not a scenario record of this format, or a declared key missing.
    """
    path = scenario_path(folder, name)
    if not path.is_file():
        known = ", ".join(list_scenarios(folder)) or "none"
        raise FileNotFoundError(f"no saved scenario {name!r} in {folder} (saved: {known})")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != SCENARIO_FORMAT:
        raise ValueError(f"{path} is not a scenario file of format {SCENARIO_FORMAT}")
    check_stage_record(record, "scenarios", path, saving=False)
    return record


def blocks_fingerprint(blocks: pd.DataFrame) -> str:
    """Short hash of the block ids: a saved assignment only fits the same blocks.

    >>> blocks_fingerprint(pd.DataFrame({"unit_id": ["b", "a"]})) == blocks_fingerprint(
    ...     pd.DataFrame({"unit_id": ["a", "b"]}))
    True
    """
    ids = "\n".join(sorted(blocks["unit_id"].astype(str)))
    return hashlib.sha256(ids.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Scoring a given assignment


def check_assignment(blocks: pd.DataFrame, assignment: Mapping[str, str] | pd.Series) -> pd.Series:
    """The assignment as a string Series indexed by block id, checked to cover exactly
    ``blocks``.

    Raises
    ------
    ValueError
        Blocks without a territory or unknown blocks (counts and examples of both).
    """
    a = pd.Series(assignment, dtype=object)
    a = pd.Series(a.astype(str).to_numpy(), index=a.index.astype(str), dtype=object)
    ids = set(blocks["unit_id"].astype(str))
    missing, extra = ids - set(a.index), set(a.index) - ids
    if missing or extra or a.index.has_duplicates:
        raise ValueError(
            f"the assignment does not fit these blocks: {len(missing)} block(s) without a "
            f"territory (e.g. {sorted(missing)[:3]}), {len(extra)} unknown block(s) "
            f"(e.g. {sorted(extra)[:3]}); was it saved for other data or another block type?"
        )
    return a


def score_assignment(
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame | None,
    assignment: Mapping[str, str] | pd.Series,
    reps: pd.DataFrame,
    *,
    balance: Sequence[str],
    tolerance: float | Mapping[str, float] = 0.05,
    rep_home_centers: bool = False,
    quarter: Quarter | str | None = None,
    seed: int = 0,
) -> TerritoryPlan:
    """A given assignment scored as a plan, unchanged: balance on ``balance``, compactness
    (each territory's best centre, or the reps' homes with ``rep_home_centers``), contiguity
    and moves against today's alignment (``blocks["territory"]``, when present).

    Every block is locked to its territory, so the designer only measures. No lower bound is
    computed (gap ``None``; see :func:`with_bound`).

    Raises
    ------
    ValueError
        The assignment does not cover exactly ``blocks``, or the designer changed it (a bug).
    """
    a = check_assignment(blocks, assignment)
    current = None
    if "territory" in blocks and blocks["territory"].notna().any():
        current = blocks[["unit_id", "territory"]].dropna()
    settings = design_settings(
        reps,
        k=a.nunique(),
        max_moved=1.0,
        rep_home_centers=rep_home_centers,
        quarter=quarter,
        current=current,
    )
    designer = TerritoryDesigner(
        k=settings.k,
        balance=tuple(balance),
        tolerance=dict(tolerance) if isinstance(tolerance, Mapping) else float(tolerance),
        seed=seed,
        n_starts=0 if current is not None else 1,
        effort=0.25,
        time_limit=30.0,
        compute_bound=False,
        max_rounds=1,
    )
    units = blocks.drop(columns=[c for c in ("territory",) if c in blocks])
    plan = designer.solve(
        units,
        adjacency=adjacency,
        current=current,
        locked=pd.DataFrame({"unit_id": a.index, "territory": a.to_numpy()}),
        centers=settings.centers,
    )
    if plan.assignment.astype(str).reindex(a.index).tolist() != a.tolist():
        raise ValueError("scoring changed the assignment: every block was locked (a bug)")
    return plan


def with_bound(
    plan: TerritoryPlan,
    lower_bound_km: float | None,
    method: str,
    *,
    source: TerritoryPlan | None = None,
) -> TerritoryPlan:
    """The plan with a lower bound from another run of the same problem (for its gap);
    ``source``, that run's plan, also lends what the bound covers and how it was obtained."""
    if lower_bound_km is None:
        return plan
    out = dataclasses.replace(plan, lower_bound_km=float(lower_bound_km), bound_method=method)
    if source is None:
        return out
    return dataclasses.replace(
        out,
        bound_detail=source.bound_detail,
        bound_covers=source.bound_covers,
        bound_ignores=source.bound_ignores,
    )


# ---------------------------------------------------------------------------------------------
# Adoption


def adopt_scenario(
    processed: str | Path,
    name: str,
    blocks: pd.DataFrame,
    adjacency: pd.DataFrame | None,
    reps: pd.DataFrame,
    *,
    block: str,
    quarter: Quarter | str | None = None,
) -> TerritoryPlan:
    """The saved scenario ``name`` as the plan: exactly its assignment, scored with its own
    balance settings (:func:`score_assignment`) and its saved lower bound.

    ``plan.info`` records ``scenario``, ``scenario_quarter`` and ``scenario_search`` (how the
    plan was made: ``refined``, ``edited`` ...).

    Raises
    ------
    FileNotFoundError
        No such scenario (the message lists the saved ones).
    ParameterError
        The scenario was saved for another block type or other blocks.
    """
    record = load_scenario(stage_folder(processed, "scenarios"), name)
    problems = []
    if record["block"] != block:
        problems.append(
            f"it was saved on {record['block']} blocks, the notebook plans on {block} "
            f"(set building_block = {record['block']!r})"
        )
    elif record["blocks_fingerprint"] != blocks_fingerprint(blocks):
        problems.append(
            f"it was saved for other blocks (quarter {record['quarter']}): the data changed since"
        )
    if problems:
        raise ParameterError(f"scenario {name!r} cannot be adopted: " + "; ".join(problems))
    settings = record["scenario"]
    plan = score_assignment(
        blocks,
        adjacency,
        record["assignment"],
        reps,
        balance=settings.get("balance", ()),
        tolerance=settings.get("tolerance", 0.05),
        rep_home_centers=bool(settings.get("rep_home_centers", False)),
        quarter=quarter,
        seed=int(settings.get("seed", 0)),
    )
    met = record["metrics"]
    plan = with_bound(plan, met.get("lower_bound_km"), met.get("bound_method", "none"))
    info = {
        **plan.info,
        "scenario": name,
        "scenario_quarter": record["quarter"],
        "scenario_search": record.get("search", ""),
    }
    note = (
        f"Adopted scenario {name!r} (saved on {record['quarter']} data, "
        f"{record.get('search') or 'unknown'} plan): its assignment exactly, scored as it stands "
        "with its own balance settings, not re-optimised"
    )
    return dataclasses.replace(plan, info=info, notes=(note, *plan.notes))


def params_file(root: str | Path, quarter: Quarter | str) -> Path:
    """The quarter's parameters file of the report: ``<root>/reports/params/<quarter>.yaml``."""
    return Path(root) / "reports" / "params" / f"{Quarter.parse(str(quarter))}.yaml"


def set_report_scenario(path: str | Path, name: str) -> Path:
    """Make the report adopt scenario ``name`` (``""``: design the plan again): set
    ``scenario`` in the ``03_territory_design`` section of the parameters file ``path``.

    The file is edited as text, so its comments, other settings, indentation and line endings
    stay as they are: the section's ``scenario`` line is replaced, or added under the section
    header (an empty section written ``{}`` or ``null`` becomes a block), or the section is
    appended. The result is read back as YAML and must equal the old file with that one change
    before it replaces the file (written atomically; a file that does not exist is created).

    >>> import tempfile, yaml
    >>> p = Path(tempfile.mkdtemp()) / "2026Q3.yaml"
    >>> _ = p.write_text("common:\\n  seed: 0  # kept\\n")
    >>> _ = set_report_scenario(p, "hand-edit")
    >>> yaml.safe_load(p.read_text())
    {'common': {'seed': 0}, '03_territory_design': {'scenario': 'hand-edit'}}
    >>> "# kept" in p.read_text()
    True
    """
    import yaml

    if name:
        scenario_path(".", name)  # the name must be valid
    path = Path(path)
    raw = path.read_bytes().decode("utf-8") if path.is_file() else ""
    newline = "\r\n" if "\r\n" in raw else "\n"
    text = raw.replace("\r\n", "\n")
    try:
        before = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML ({exc}); not changed") from None
    lines = text.splitlines()
    key = re.compile(rf"^['\"]?{re.escape(REPORT_SECTION)}['\"]?\s*:(.*)$")
    header = next((i for i, s in enumerate(lines) if key.match(s)), None)
    indent = "  "
    if header is None:
        at, end = None, len(lines)
        lines.append(f"{REPORT_SECTION}:")
        header = len(lines) - 1
    else:
        rest = key.match(lines[header]).group(1)  # type: ignore[union-attr]
        value = rest.split("#", 1)[0].strip()
        if value in ("{}", "null", "~"):  # an empty section written inline: make it a block
            comment = rest[rest.index("#") :] if "#" in rest else ""
            lines[header] = f"{REPORT_SECTION}:" + (f"  {comment}" if comment else "")
        end = next(
            (j for j in range(header + 1, len(lines)) if re.match(r"^\S", lines[j])), len(lines)
        )
        keys = [
            j
            for j in range(header + 1, end)
            if lines[j].strip() and not lines[j].lstrip().startswith("#")
        ]
        if keys:
            indent = lines[keys[0]][: len(lines[keys[0]]) - len(lines[keys[0]].lstrip())]
        at = next(
            (j for j in keys if re.match(rf"^{re.escape(indent)}scenario\s*:", lines[j])), None
        )
    stamp = dt.date.today().isoformat()
    line = f'{indent}scenario: "{name}"  # adopted {stamp}'
    if at is None:
        lines.insert(header + 1, line)
    else:
        lines[at] = line
    new = newline.join(lines) + newline
    expected = dict(before) if isinstance(before, dict) else None
    if expected is not None:
        section = expected.get(REPORT_SECTION) or {}
        expected[REPORT_SECTION] = (
            {**section, "scenario": name} if isinstance(section, dict) else {}
        )
    try:
        after = yaml.safe_load(new.replace("\r\n", "\n"))
    except yaml.YAMLError:
        after = None
    if after != expected:
        raise ValueError(
            f"{path}: could not set scenario in its {REPORT_SECTION} section alone (written in "
            "flow style, {k: v}?); not changed - set scenario there by hand"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, new.encode())
    return path
